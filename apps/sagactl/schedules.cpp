// `sagactl schedules`: list, show, deploy, pause, resume and delete schedules (GET, PUT, POST
// and DELETE /api/schedules...). docs/sagactl.md and docs/schedules.md.
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "http_client.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kSchedulesUsage = with_admin_options(
    "usage: sagactl schedules [list] [OPTIONS]\n"
    "       sagactl schedules show NAME [OPTIONS]\n"
    "       sagactl schedules deploy NAME --flow F --cron EXPR [--zone Z]\n"
    "                                [--overlap skip|allow] [--input JSON|@FILE|@-] [OPTIONS]\n"
    "       sagactl schedules pause NAME | resume NAME | delete NAME [OPTIONS]\n"
    "\n"
    "Schedules start a saga of a flow at each time of a cron expression (five fields:\n"
    "minute hour day-of-month month day-of-week) in a time zone. list prints each with\n"
    "its next and last firing; deploy creates or replaces one (its last firing is kept,\n"
    "so no time fires twice); pause stops its firings until resumed; delete removes it\n"
    "(the sagas it started stay).\n"
    "\n"
    "options (deploy):\n"
    "  --flow F            the flow it starts (its latest version at each firing)\n"
    "  --cron EXPR         e.g. \"0 9 * * MON-FRI\" (quote it)\n"
    "  --zone Z            an IANA time zone (default UTC), e.g. Europe/Berlin\n"
    "  --overlap P         skip (default): not while its last saga is unfinished; allow\n"
    "  --input JSON        the saga's input: JSON text, @FILE, @- (default {})\n",
    "\n"
    "Exit status: 0 done, 1 refused (a bad expression, zone, overlap or input), 2 usage,\n"
    "3 no such schedule (or, for deploy, no such flow), 4 server unreachable or token refused.\n");

std::string schedule_state(const boost::json::value& s) {
  const auto* paused = s.as_object().if_contains("paused");
  return paused && paused->is_bool() && paused->get_bool() ? "paused" : "active";
}

void print_schedule(std::ostream& out, const boost::json::value& s) {
  out << format_fields({{"schedule", field_text(s, "name")},
                        {"flow", field_text(s, "flow")},
                        {"cron", field_text(s, "cron")},
                        {"zone", field_text(s, "zone")},
                        {"overlap", field_text(s, "overlap")},
                        {"input", json_text(s.as_object().at("input"))},
                        {"state", schedule_state(s)},
                        {"next fire", field_text(s, "next_fire")},
                        {"last fire", field_text(s, "last_fire")},
                        {"last outcome", field_text(s, "last_outcome")},
                        {"last saga", field_text(s, "last_saga")}});
}

}  // namespace

int run_schedules(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> flow, cron, zone, overlap, input_arg;
  ArgParser parser("schedules", kSchedulesUsage);
  parser.value("--flow", flow)
      .value("--cron", cron)
      .value("--zone", zone)
      .value("--overlap", overlap)
      .value("--input", input_arg);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  const auto& words = parser.positional();
  const std::string action = words.empty() ? "list" : std::string(words[0]);
  const bool deploy = action == "deploy";
  if (action == "list") {
    if (words.size() > 1) return parser.usage_error(ctx, "list takes no name");
  } else if (action == "show" || deploy || action == "pause" || action == "resume" ||
             action == "delete") {
    if (words.size() != 2) return parser.usage_error(ctx, action + " takes one schedule name");
  } else {
    return parser.usage_error(
        ctx, "unknown action '" + action + "' (list, show, deploy, pause, resume, delete)");
  }
  if (!deploy && (flow || cron || zone || overlap || input_arg)) {
    return parser.usage_error(ctx, "--flow, --cron, --zone, --overlap and --input are for deploy");
  }
  boost::json::object body;
  if (deploy) {
    if (!flow || !cron) return parser.usage_error(ctx, "deploy needs --flow and --cron");
    body["flow"] = *flow;
    body["cron"] = *cron;
    if (zone) body["zone"] = *zone;
    if (overlap) body["overlap"] = *overlap;
    if (input_arg) {
      std::string unreadable;
      const auto text = argument_text(*input_arg, "input", ctx, unreadable);
      if (!text) return parser.usage_error(ctx, unreadable);
      boost::system::error_code ec;
      auto input = boost::json::parse(*text, ec);
      if (ec) return parser.usage_error(ctx, "--input is not JSON: " + ec.message());
      body["input"] = std::move(input);
    }
  }

  auto admin = AdminClient::open(options, parser, ctx, "schedules");
  if (!admin) return kExitUsage;
  const std::string target =
      words.size() > 1 ? "/api/schedules/" + url_encode(words[1]) : std::string("/api/schedules");
  std::optional<AdminReply> reply;
  if (action == "list" || action == "show") {
    reply = admin->call("GET", target);
  } else if (deploy) {
    reply = admin->call("PUT", target, boost::json::serialize(body), "application/json");
  } else if (action == "delete") {
    reply = admin->call("DELETE", target);
  } else {
    reply = admin->call("POST", target + "/" + action, "{}", "application/json");
  }
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
    return kExitOk;
  }
  if (action == "list") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : reply->json.as_object().at("schedules").as_array()) {
      rows.push_back({field_text(s, "name"), field_text(s, "flow"), field_text(s, "cron"),
                      field_text(s, "zone"), field_text(s, "overlap"), schedule_state(s),
                      field_text(s, "next_fire"), field_text(s, "last_fire"),
                      field_text(s, "last_outcome")});
    }
    if (rows.empty()) {
      ctx.out << "no schedules\n";
    } else {
      ctx.out << format_table({"NAME", "FLOW", "CRON", "ZONE", "OVERLAP", "STATE", "NEXT FIRE",
                               "LAST FIRE", "LAST OUTCOME"},
                              rows);
    }
  } else if (action == "delete") {
    ctx.out << "schedule " << field_text(reply->json, "deleted") << ": deleted\n";
  } else {
    print_schedule(ctx.out, reply->json.as_object().at("schedule"));
  }
  return kExitOk;
}

}  // namespace sagactl
