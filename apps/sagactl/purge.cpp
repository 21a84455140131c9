// `sagactl purge [--dry-run]` (POST /api/purge): retention's pass now, or what it would remove.
#include <ostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kPurgeUsage = with_admin_options(
    "usage: sagactl purge [--dry-run] [--flow F] [--status S] [OPTIONS]\n"
    "\n"
    "Removes now the finished sagas (completed, compensated, cancelled) whose last change\n"
    "is older than their flow's retention for their status, with their history (archived\n"
    "first when the daemon has --archive-dir), and prints what went per flow and status.\n"
    "Failed and unfinished sagas are never removed.\n"
    "\n"
    "options:\n"
    "  --dry-run           remove nothing: print what would go, per flow and status, with\n"
    "                      the oldest last change of each\n"
    "  --flow F            only the sagas of flow F\n"
    "  --status S          only completed, compensated or cancelled sagas\n",
    "\n"
    "Exit status: 0 done (or shown), 2 usage (or a status the daemon refuses), 3 no such\n"
    "flow, 4 server unreachable or token refused, 5 the pass did not end within the\n"
    "daemon's 20 s (it goes on).\n");

std::string count_text(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::uint64_t number_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return 0;
}

}  // namespace

int run_purge(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  bool dry_run = false;
  std::optional<std::string> flow, status;
  ArgParser parser("purge", kPurgeUsage);
  parser.flag("--dry-run", dry_run).value("--flow", flow).value("--status", status);
  options.add_to(parser);
  if (auto code = parser.parse(args, ctx)) return *code;
  if (!parser.positional().empty()) return parser.usage_error(ctx, "purge takes no arguments");
  auto admin = AdminClient::open(options, parser, ctx, "purge");
  if (!admin) return kExitUsage;

  boost::json::object body{{"dry_run", dry_run}};
  if (flow) body["flow"] = *flow;
  if (status) body["status"] = *status;
  auto reply = admin->call("POST", "/api/purge", boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
    return kExitOk;
  }
  auto& out = ctx.out;
  const auto* answer = reply->json.if_object();
  const auto* groups = answer ? answer->if_contains("groups") : nullptr;
  const auto* done = answer ? answer->if_contains("done") : nullptr;
  if (done != nullptr && done->is_bool() && !done->get_bool()) {
    out << "the purge goes on in the daemon; run 'sagactl purge --dry-run' to see what is left\n";
    return kExitTimeout;
  }
  if (groups == nullptr || !groups->is_array()) {
    admin->print_body(*reply);
    ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"groups\" list\n";
    return kExitUnavailable;
  }
  const auto sagas = number_field(*answer, "sagas");
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : groups->get_array()) {
    rows.push_back({field_text(g, "flow"), field_text(g, "status"), field_text(g, "keep_for"),
                    field_text(g, "sagas"), field_text(g, dry_run ? "oldest" : "history")});
  }
  if (dry_run) {
    out << (sagas == 0 ? std::string("nothing to remove")
                       : "would remove " + count_text(sagas, "saga", "sagas"))
        << '\n';
  } else {
    out << "removed " << count_text(sagas, "saga", "sagas") << ", "
        << count_text(number_field(*answer, "history"), "history row", "history rows") << '\n';
  }
  if (!rows.empty()) {
    out << format_table({"FLOW", "STATUS", "KEEP FOR", "SAGAS", dry_run ? "OLDEST" : "HISTORY"},
                        rows);
  }
  return kExitOk;
}

}  // namespace sagactl
