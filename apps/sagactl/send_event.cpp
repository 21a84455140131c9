// `sagactl send-event TYPE --payload JSON`: sends an outside event (POST /api/events) as a
// participant publishing it would: a waiting saga takes it by the key in its payload.
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kSendEventUsage = with_admin_options(
    "usage: sagactl send-event TYPE [--payload JSON|@FILE|@-] [--id ID]\n"
    "                          [--correlation-id ID] [OPTIONS]\n"
    "\n"
    "Sends an outside event (a webhook's result, a gateway's callback) to the daemon, which\n"
    "delivers it as a participant publishing it would: on RabbitMQ to the events exchange\n"
    "with TYPE as routing key. A saga waiting for TYPE takes it by the key in its payload;\n"
    "a flow started by TYPE starts. Prints the event's message id.\n"
    "\n"
    "options:\n"
    "  --payload JSON      the event's payload, a JSON object: JSON text, @FILE to read it\n"
    "                      from a file, @- from stdin (default {})\n"
    "  --id ID             the event's message id, stable for the fact it reports (a saga\n"
    "                      ignores an id it has seen; default: a new random id)\n"
    "  --correlation-id ID carried as the event's correlation_id\n",
    "\n"
    "Exit status: 0 sent, 1 nobody listens to TYPE, 2 usage (or a bad payload), 4 server\n"
    "unreachable, token refused, or the event not confirmed.\n");

}  // namespace

int run_send_event(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> payload_arg, id, correlation_id;
  ArgParser parser("send-event", kSendEventUsage);
  parser.value("--payload", payload_arg)
      .value("--id", id)
      .value("--correlation-id", correlation_id);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no event type given" : "give exactly one event type");
  }
  std::string unreadable;
  const auto payload_text = argument_text(payload_arg.value_or("{}"), "payload", ctx, unreadable);
  if (!payload_text) return parser.usage_error(ctx, unreadable);
  boost::system::error_code ec;
  auto payload = boost::json::parse(*payload_text, ec);
  if (ec) return parser.usage_error(ctx, "--payload is not JSON: " + ec.message());
  if (!payload.is_object()) return parser.usage_error(ctx, "--payload must be a JSON object");

  boost::json::object body{{"type", parser.positional().front()}, {"payload", std::move(payload)}};
  if (id) body["message_id"] = *id;
  if (correlation_id) body["correlation_id"] = *correlation_id;
  auto admin = AdminClient::open(options, parser, ctx, "send-event");
  if (!admin) return kExitUsage;
  auto reply = admin->call("POST", "/api/events", boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
  } else {
    ctx.out << "event " << field_text(reply->json, "type") << " sent, message id "
            << field_text(reply->json, "message_id") << '\n';
  }
  return kExitOk;
}

}  // namespace sagactl
