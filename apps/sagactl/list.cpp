// `sagactl list`: sagas, newest first, filtered and paged (GET /api/sagas).
#include <ostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

const std::string kListUsage = with_admin_options(
    "usage: sagactl list [--flow F] [--status S] [--key K] [--from T] [--to T]\n"
    "                    [--limit N] [--after CURSOR] [--all] [OPTIONS]\n"
    "\n"
    "Lists sagas, newest first, as a table. Times are RFC 3339 (2026-11-23T10:00:00.000Z).\n"
    "When there are more, the cursor of the next page is printed to stderr.\n"
    "\n"
    "options:\n"
    "  --flow F            only sagas of flow F\n"
    "  --status S          only sagas in status S (running, waiting, compensating,\n"
    "                      completed, compensated, failed, cancelled, paused)\n"
    "  --key K             only the saga started with business/idempotency key K\n"
    "  --from T, --to T    created in [T1, T2)\n"
    "  --limit N           sagas per page, 1..500 (default 50)\n"
    "  --after CURSOR      the page after CURSOR (printed by the previous page)\n"
    "  --all               every page (with --json: one document with every saga)\n",
    "\n"
    "Exit status: 0 ok, 2 usage (or a filter the server refused), 4 server unreachable\n"
    "or token refused.\n");

// "?flow=x&status=y" from the filters given.
std::string query(
    const std::vector<std::pair<std::string, const std::optional<std::string>*>>& parameters) {
  std::string out;
  for (const auto& [name, value] : parameters) {
    if (!*value) continue;
    out += (out.empty() ? "?" : "&") + name + "=" + url_encode(**value);
  }
  return out;
}

}  // namespace

int run_list(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> flow, status, key, from, to, limit, after;
  bool all = false;
  ArgParser parser("list", kListUsage);
  parser.value("--flow", flow)
      .value("--status", status)
      .value("--key", key)
      .value("--from", from)
      .value("--to", to)
      .value("--limit", limit)
      .value("--after", after)
      .flag("--all", all);
  options.add_to(parser);
  if (auto code = parser.parse(args, ctx)) return *code;
  if (!parser.positional().empty()) {
    return parser.usage_error(ctx, "unexpected argument '" + parser.positional().front() + "'");
  }
  if (limit && !parse_integer(*limit, 1, 500)) {
    return parser.usage_error(ctx, "--limit takes a number in 1..500");
  }
  if (all && !limit) limit = "500";
  auto admin = AdminClient::open(options, parser, ctx, "list");
  if (!admin) return kExitUsage;

  boost::json::array sagas;
  std::optional<std::string> next;
  for (;;) {
    auto target = "/api/sagas" + query({{"flow", &flow},
                                        {"status", &status},
                                        {"key", &key},
                                        {"from", &from},
                                        {"to", &to},
                                        {"limit", &limit},
                                        {"after", &after}});
    auto reply = admin->call("GET", target);
    if (!reply) return kExitUnavailable;
    if (!reply->ok()) return admin->fail(*reply);
    if (admin->json() && !all) {
      admin->print_body(*reply);
      return kExitOk;
    }
    const auto* object = reply->json.if_object();
    const auto* page = object ? object->if_contains("sagas") : nullptr;
    if (page == nullptr || !page->is_array()) {
      ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"sagas\" list\n";
      return kExitUnavailable;
    }
    for (const auto& saga : page->get_array()) sagas.push_back(saga);
    const auto* cursor = object->if_contains("next");
    next.reset();
    if (cursor != nullptr && cursor->is_string() && !cursor->get_string().empty()) {
      next = std::string(cursor->get_string());
    }
    if (!all || !next) break;
    if (next == after) {
      ctx.err << admin->prefix() << "bad answer from the admin endpoint: the next cursor "
              << "repeats the current one\n";
      return kExitUnavailable;
    }
    after = next;
  }

  if (admin->json()) {
    ctx.out << boost::json::serialize(
                   boost::json::object{{"sagas", std::move(sagas)}, {"next", nullptr}})
            << '\n';
    return kExitOk;
  }
  if (sagas.empty()) {
    ctx.out << "no sagas\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& saga : sagas) {
      std::string flow_name = field_text(saga, "flow");
      if (auto version = field_text(saga, "flow_version"); version != "-") {
        flow_name += " v" + version;
      }
      rows.push_back({field_text(saga, "id"), flow_name, field_text(saga, "status"),
                      field_text(saga, "key"), field_text(saga, "created_at"),
                      field_text(saga, "updated_at")});
    }
    ctx.out << format_table({"ID", "FLOW", "STATUS", "KEY", "CREATED", "UPDATED"}, rows);
  }
  if (next) {
    ctx.err << "more sagas: repeat with --after " << sagaflow::text::printable(*next)
            << " (or --all)\n";
  }
  return kExitOk;
}

}  // namespace sagactl
