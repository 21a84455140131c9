// `sagactl services`: each service's consumers, commands in flight and waiting, and last reply
// (GET /api/services); exit status 1 when a service has commands waiting and no consumer.
#include <ostream>
#include <string>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kServicesUsage = with_admin_options(
    "usage: sagactl services [OPTIONS]\n"
    "\n"
    "Lists every service the daemon's flows use: its consumers (workers), the commands ready\n"
    "in its queue, in flight and waiting for a slot, how long the oldest has waited, and when\n"
    "it last replied. A service with commands and no consumer is flagged NO CONSUMER.\n"
    "\n"
    "options:\n",
    "\n"
    "Exit status: 0 ok, 1 a service has commands and no consumer, 2 usage, 4 server\n"
    "unreachable or token refused.\n");

// "-" for null (not known), else the value as text.
std::string or_dash(const boost::json::value& service, std::string_view key) {
  const auto* object = service.if_object();
  const auto* value = object ? object->if_contains(key) : nullptr;
  if (value == nullptr || value->is_null()) return "-";
  return json_text(*value);
}

}  // namespace

int run_services(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  ArgParser parser("services", kServicesUsage);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (!parser.positional().empty()) return parser.usage_error(ctx, "services takes no arguments");
  auto admin = AdminClient::open(options, parser, ctx, "services");
  if (!admin) return kExitUsage;
  auto reply = admin->call("GET", "/api/services");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  const auto* object = reply->json.if_object();
  const auto* services = object ? object->if_contains("services") : nullptr;
  const auto* unserved = object ? object->if_contains("without_consumer") : nullptr;
  if (services == nullptr || !services->is_array() || unserved == nullptr ||
      !unserved->is_array()) {
    ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"services\" list\n";
    return kExitUnavailable;
  }
  const int status = unserved->get_array().empty() ? kExitOk : kExitFailure;
  if (admin->json()) {
    admin->print_body(*reply);
    return status;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& service : services->get_array()) {
    const auto* o = service.if_object();
    const auto* flagged = o ? o->if_contains("without_consumer") : nullptr;
    const bool warn = flagged != nullptr && flagged->is_bool() && flagged->get_bool();
    rows.push_back({field_text(service, "service"), or_dash(service, "consumers"),
                    or_dash(service, "queued"), or_dash(service, "in_flight"),
                    or_dash(service, "waiting"), or_dash(service, "oldest_waiting_ms"),
                    or_dash(service, "last_reply_at"), warn ? "NO CONSUMER" : ""});
  }
  if (rows.empty()) {
    ctx.out << "no services\n";
    return status;
  }
  ctx.out << format_table({"SERVICE", "CONSUMERS", "QUEUED", "IN FLIGHT", "WAITING",
                           "OLDEST WAITING MS", "LAST REPLY", "WARNING"},
                          rows);
  for (const auto& name : unserved->get_array()) {
    ctx.err << "warning: service " << json_text(name)
            << " has commands waiting and no consumer: start a worker for it\n";
  }
  return status;
}

}  // namespace sagactl
