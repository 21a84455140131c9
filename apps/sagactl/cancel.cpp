// `sagactl cancel ID [--reason R]`: cancels a running saga (POST /api/sagas/{id}/cancel); it
// compensates what it did and ends cancelled.
#include <ostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kCancelUsage = with_admin_options(
    "usage: sagactl cancel ID [--reason R] [OPTIONS]\n"
    "\n"
    "Cancels a running saga: it compensates the steps it completed, in reverse order, and\n"
    "ends cancelled. A saga past its pivot step, or already finished, refuses.\n"
    "\n"
    "options:\n"
    "  --reason R          why, recorded in the saga's history\n",
    "\n"
    "Exit status: 0 cancel accepted, 1 refused by the saga's status, 2 usage, 3 no such\n"
    "saga, 4 server unreachable or token refused.\n");

}  // namespace

int run_cancel(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> reason;
  ArgParser parser("cancel", kCancelUsage);
  parser.value("--reason", reason);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no saga id given" : "give exactly one saga id");
  }
  auto admin = AdminClient::open(options, parser, ctx, "cancel");
  if (!admin) return kExitUsage;
  boost::json::object body;
  if (reason) body["reason"] = *reason;
  auto reply =
      admin->call("POST", "/api/sagas/" + url_encode(parser.positional().front()) + "/cancel",
                  boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
  } else {
    ctx.out << "saga " << field_text(reply->json, "id") << ": cancel accepted, status "
            << field_text(reply->json, "status") << '\n';
  }
  return kExitOk;
}

}  // namespace sagactl
