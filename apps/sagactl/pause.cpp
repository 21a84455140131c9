// Operator control beyond one saga's retry and cancel: `sagactl pause` and `sagactl resume` (a
// saga, or a whole flow), `sagactl bulk` (cancel, retry, pause or resume every saga a filter
// finds, with a dry run) and `sagactl audit` (the operators' actions). docs/sagactl.md.
#include <cstdint>
#include <ostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kPauseUsage = with_admin_options(
    "usage: sagactl pause ID [--reason R] [OPTIONS]\n"
    "       sagactl pause --flow NAME [OPTIONS]\n"
    "\n"
    "Pauses a saga: it sends no new command; replies to the commands already out, events\n"
    "and timers that come due are recorded and applied when it is resumed. With --flow,\n"
    "pauses the flow instead: its new starts are accepted and stored paused, and start\n"
    "when the flow is resumed (its running sagas go on; pause them with 'sagactl bulk\n"
    "pause --flow NAME').\n"
    "\n"
    "options:\n"
    "  --flow NAME         pause the flow's new starts instead of one saga\n"
    "  --reason R          why, recorded in the saga's history and the audit log\n",
    "\n"
    "Exit status: 0 paused, 1 refused (the saga is already paused, failed or finished),\n"
    "2 usage, 3 no such saga or flow, 4 server unreachable or token refused.\n");

const std::string kResumeUsage = with_admin_options(
    "usage: sagactl resume ID [OPTIONS]\n"
    "       sagactl resume --flow NAME [OPTIONS]\n"
    "\n"
    "Resumes a paused saga: what came while it was paused is applied (replies and events\n"
    "first, then timers that came due), and it goes on. With --flow, resumes the flow: the\n"
    "starts it held begin within about a second; sagas paused one by one stay paused.\n"
    "\n"
    "options:\n"
    "  --flow NAME         resume the flow instead of one saga\n",
    "\n"
    "Exit status: 0 resumed, 1 refused (the saga is not paused), 2 usage, 3 no such saga\n"
    "or flow, 4 server unreachable or token refused.\n");

const std::string kBulkUsage = with_admin_options(
    "usage: sagactl bulk ACTION [--flow F] [--status S] [--key K] [--from T] [--to T]\n"
    "                    [--limit N] [--reason R] [--dry-run] [OPTIONS]\n"
    "\n"
    "Applies ACTION (cancel, retry, pause or resume) to every saga the filters find, newest\n"
    "first, at most --limit (default 100, up to 1000), and lists each one done or refused.\n"
    "retry takes the failed sagas and resume the paused ones (no --status). With\n"
    "--dry-run nothing changes: it prints how many sagas and which ones, and for cancel\n"
    "the compensations each would set off, latest step first.\n"
    "\n"
    "options:\n"
    "  --flow F, --status S, --key K, --from T, --to T   filters, as for sagactl list\n"
    "  --limit N           at most N sagas, 1..1000\n"
    "  --reason R          cancel and pause: why, recorded in each saga's history\n"
    "  --dry-run           change nothing; show what the action would take\n",
    "\n"
    "Exit status: 0 done (every one; a dry run: always), 1 any refused, 2 usage, 4 server\n"
    "unreachable or token refused.\n");

const std::string kAuditUsage = with_admin_options(
    "usage: sagactl audit [--limit N] [--before SEQ] [OPTIONS]\n"
    "\n"
    "Prints the operators' actions, newest first: when, who, the status answered, the\n"
    "request and the reason. --before SEQ shows older entries (the next page is printed\n"
    "at the end).\n"
    "\n"
    "options:\n"
    "  --limit N           at most N entries, 1..500 (default 50)\n"
    "  --before SEQ        entries older than SEQ\n",
    "\n"
    "Exit status: 0 printed, 2 usage, 4 server unreachable or token refused.\n");

// One saga or one flow, paused or resumed.
int pause_or_resume(std::span<const std::string_view> args, Context& ctx, bool pause) {
  const std::string verb = pause ? "pause" : "resume";
  AdminOptions options;
  std::optional<std::string> reason, flow;
  ArgParser parser(verb, pause ? kPauseUsage : kResumeUsage);
  parser.value("--flow", flow);
  if (pause) parser.value("--reason", reason);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (flow) {
    if (!parser.positional().empty()) {
      return parser.usage_error(ctx, "give either a saga id or --flow, not both");
    }
  } else if (parser.positional().size() != 1) {
    return parser.usage_error(ctx, parser.positional().empty() ? "give a saga id, or --flow NAME"
                                                               : "give exactly one saga id");
  }
  auto admin = AdminClient::open(options, parser, ctx, verb);
  if (!admin) return kExitUsage;
  boost::json::object body;
  if (reason) body["reason"] = *reason;
  const std::string target =
      flow ? "/api/flows/" + url_encode(*flow) + "/" + verb
           : "/api/sagas/" + url_encode(parser.positional().front()) + "/" + verb;
  auto reply = admin->call("POST", target, boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
  } else if (flow) {
    ctx.out << "flow " << field_text(reply->json, "flow") << ": "
            << (pause ? "paused (new starts wait)" : "resumed") << '\n';
  } else {
    ctx.out << "saga " << field_text(reply->json, "id") << ": " << (pause ? "paused" : "resumed")
            << ", status " << field_text(reply->json, "status") << '\n';
  }
  return kExitOk;
}

int print_dry_run(AdminClient& admin, const AdminReply& reply, std::string_view action) {
  if (admin.json()) {
    admin.print_body(reply);
    return kExitOk;
  }
  const auto* sagas =
      reply.json.is_object() ? reply.json.get_object().if_contains("sagas") : nullptr;
  if (sagas == nullptr || !sagas->is_array()) {
    admin.ctx().err << admin.prefix() << "bad answer from the admin endpoint: no \"sagas\"\n";
    return kExitUnavailable;
  }
  auto& out = admin.ctx().out;
  const auto n = sagas->get_array().size();
  out << "dry run: " << action << " would take " << n << (n == 1 ? " saga" : " sagas") << '\n';
  for (const auto& s : sagas->get_array()) {
    out << "  " << field_text(s, "id") << "  " << field_text(s, "flow") << "  "
        << field_text(s, "status") << '\n';
    const auto* compensations = s.as_object().if_contains("compensations");
    if (compensations == nullptr || !compensations->is_array()) continue;
    if (compensations->get_array().empty()) out << "    compensates nothing\n";
    for (const auto& c : compensations->get_array()) {
      std::string commands;
      if (const auto* list = c.as_object().if_contains("commands"); list && list->is_array()) {
        for (const auto& command : list->get_array()) {
          commands += (commands.empty() ? "" : ", ") + json_text(command);
        }
      }
      out << "    compensates " << field_text(c, "step") << " (" << commands << ")\n";
    }
  }
  return kExitOk;
}

}  // namespace

int print_bulk_answer(AdminClient& admin, const AdminReply& reply, const std::string& done_key) {
  const auto* answer = reply.json.is_object() ? &reply.json.get_object() : nullptr;
  const auto* done = answer ? answer->if_contains(done_key) : nullptr;
  const auto* refused = answer ? answer->if_contains("refused") : nullptr;
  if (done == nullptr || !done->is_array() || refused == nullptr || !refused->is_array()) {
    if (admin.json()) admin.print_body(reply);
    admin.ctx().err << admin.prefix() << "bad answer from the admin endpoint: no \"" << done_key
                    << "\" and \"refused\" lists\n";
    return kExitUnavailable;
  }
  const bool any_refused = !refused->get_array().empty();
  if (admin.json()) {
    admin.print_body(reply);
  } else {
    auto& out = admin.ctx().out;
    const auto& ids = done->get_array();
    out << done_key << ' ' << ids.size() << (ids.size() == 1 ? " saga" : " sagas") << '\n';
    for (const auto& id : ids) out << "  " << json_text(id) << '\n';
    if (any_refused) {
      out << "refused " << refused->get_array().size() << '\n';
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : refused->get_array()) {
        rows.push_back({"  " + field_text(r, "id"), field_text(r, "error")});
      }
      out << format_table({"  ID", "ERROR"}, rows);
    }
  }
  return any_refused ? kExitFailure : kExitOk;
}

int run_pause(std::span<const std::string_view> args, Context& ctx) {
  return pause_or_resume(args, ctx, true);
}

int run_resume(std::span<const std::string_view> args, Context& ctx) {
  return pause_or_resume(args, ctx, false);
}

int run_bulk(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  bool dry_run = false;
  std::optional<std::string> flow, status, key, from, to, limit, reason;
  ArgParser parser("bulk", kBulkUsage);
  parser.flag("--dry-run", dry_run)
      .value("--flow", flow)
      .value("--status", status)
      .value("--key", key)
      .value("--from", from)
      .value("--to", to)
      .value("--limit", limit)
      .value("--reason", reason);
  options.add_to(parser);
  if (auto parsed = parser.parse(args, ctx)) return *parsed;
  if (parser.positional().size() != 1) {
    return parser.usage_error(ctx, "give one action: cancel, retry, pause or resume");
  }
  const std::string action(parser.positional().front());
  if (action != "cancel" && action != "retry" && action != "pause" && action != "resume") {
    return parser.usage_error(ctx, "the action must be cancel, retry, pause or resume");
  }
  if (status && (action == "retry" || action == "resume")) {
    return parser.usage_error(ctx, action + " takes no --status (" +
                                       (action == "retry" ? "failed" : "paused") + " sagas only)");
  }
  if (reason && (action == "retry" || action == "resume")) {
    return parser.usage_error(ctx, action + " takes no --reason");
  }
  std::optional<long long> max;
  if (limit && !(max = parse_integer(*limit, 1, 1000))) {
    return parser.usage_error(ctx, "--limit takes a number in 1..1000");
  }
  auto admin = AdminClient::open(options, parser, ctx, "bulk");
  if (!admin) return kExitUsage;
  boost::json::object body;
  if (flow) body["flow"] = *flow;
  if (status) body["status"] = *status;
  if (key) body["key"] = *key;
  if (from) body["from"] = *from;
  if (to) body["to"] = *to;
  if (max) body["limit"] = *max;
  if (reason) body["reason"] = *reason;
  if (dry_run) body["dry_run"] = true;
  auto reply =
      admin->call("POST", "/api/sagas/" + action, boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (dry_run) return print_dry_run(*admin, *reply, action);

  const std::string done_key = action == "retry"    ? "retried"
                               : action == "resume" ? "resumed"
                               : action == "pause"  ? "paused"
                                                    : "cancelled";
  return print_bulk_answer(*admin, *reply, done_key);
}

int run_audit(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> limit, before;
  ArgParser parser("audit", kAuditUsage);
  parser.value("--limit", limit).value("--before", before);
  options.add_to(parser);
  if (auto parsed = parser.parse(args, ctx)) return *parsed;
  if (!parser.positional().empty()) return parser.usage_error(ctx, "audit takes no arguments");
  std::string query;
  if (limit) {
    if (!parse_integer(*limit, 1, 500)) {
      return parser.usage_error(ctx, "--limit takes a number in 1..500");
    }
    query += "limit=" + *limit;
  }
  if (before) {
    if (!parse_integer(*before, 1, INT64_MAX)) {
      return parser.usage_error(ctx, "--before takes an entry's seq (a positive number)");
    }
    query += (query.empty() ? "" : "&") + std::string("before=") + *before;
  }
  auto admin = AdminClient::open(options, parser, ctx, "audit");
  if (!admin) return kExitUsage;
  auto reply = admin->call("GET", "/api/audit" + (query.empty() ? "" : "?" + query));
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
    return kExitOk;
  }
  const auto* entries =
      reply->json.is_object() ? reply->json.get_object().if_contains("entries") : nullptr;
  if (entries == nullptr || !entries->is_array()) {
    ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"entries\"\n";
    return kExitUnavailable;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries->get_array()) {
    rows.push_back({field_text(e, "seq"), field_text(e, "at"), field_text(e, "actor"),
                    field_text(e, "status"), field_text(e, "action"), field_text(e, "reason")});
  }
  ctx.out << format_table({"SEQ", "AT", "ACTOR", "STATUS", "ACTION", "REASON"}, rows);
  const auto& next = reply->json.get_object().if_contains("next");
  if (next != nullptr && !next->is_null()) {
    ctx.out << "older: sagactl audit --before " << json_text(*next) << '\n';
  }
  return kExitOk;
}

}  // namespace sagactl
