// `sagactl flows`: the deployed flows and their versions (GET /api/flows).
#include <ostream>
#include <string>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kFlowsUsage = with_admin_options(
    "usage: sagactl flows [OPTIONS]\n"
    "\n"
    "Lists the flows the daemon runs: name, latest version, every deployed version, and\n"
    "whether the flow is paused (yes: its new starts wait; - when the daemon cannot say).\n"
    "\n"
    "options:\n",
    "\n"
    "Exit status: 0 ok, 2 usage, 4 server unreachable or token refused.\n");

}  // namespace

int run_flows(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  ArgParser parser("flows", kFlowsUsage);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (!parser.positional().empty()) return parser.usage_error(ctx, "flows takes no arguments");
  auto admin = AdminClient::open(options, parser, ctx, "flows");
  if (!admin) return kExitUsage;
  auto reply = admin->call("GET", "/api/flows");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
    return kExitOk;
  }
  const auto* object = reply->json.if_object();
  const auto* flows = object ? object->if_contains("flows") : nullptr;
  if (flows == nullptr || !flows->is_array()) {
    ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"flows\" list\n";
    return kExitUnavailable;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& flow : flows->get_array()) {
    std::string versions;
    const auto* flow_object = flow.if_object();
    const auto* list = flow_object ? flow_object->if_contains("versions") : nullptr;
    if (list != nullptr && list->is_array()) {
      for (const auto& version : list->get_array()) {
        versions += (versions.empty() ? "" : ", ") + json_text(version);
      }
    }
    const auto* paused = flow_object ? flow_object->if_contains("paused") : nullptr;
    rows.push_back({field_text(flow, "name"), field_text(flow, "latest"),
                    versions.empty() ? "-" : versions,
                    paused == nullptr || !paused->is_bool() ? "-"
                    : paused->get_bool()                    ? "yes"
                                                            : "no"});
  }
  if (rows.empty()) {
    ctx.out << "no flows deployed\n";
    return kExitOk;
  }
  ctx.out << format_table({"FLOW", "LATEST", "VERSIONS", "PAUSED"}, rows);
  return kExitOk;
}

}  // namespace sagactl
