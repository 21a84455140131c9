// `sagactl retry ID` (POST /api/sagas/{id}/retry) and `sagactl retry --failed` (POST
// /api/sagas/retry): an operator's retry of parked sagas.
#include <ostream>
#include <string>

#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kRetryUsage = with_admin_options(
    "usage: sagactl retry ID [OPTIONS]\n"
    "       sagactl retry --failed [--flow F] [--key K] [--from T] [--to T] [--limit N]\n"
    "                     [OPTIONS]\n"
    "\n"
    "Retries a failed (parked) saga: the steps or compensation that failed are sent again\n"
    "with a fresh retry budget. With --failed, retries every failed saga that matches\n"
    "the filters (at most --limit, default 100, up to 1000) and lists each one retried\n"
    "or refused.\n"
    "\n"
    "options:\n"
    "  --failed            retry in bulk instead of one saga\n"
    "  --flow F, --key K, --from T, --to T   filters, as for sagactl list\n"
    "  --limit N           at most N sagas, 1..1000\n",
    "\n"
    "Exit status: 0 retried (every one), 1 refused (the saga is not failed; in bulk: any\n"
    "refused), 2 usage, 3 no such saga, 4 server unreachable or token refused.\n");

int retry_one(AdminClient& admin, const std::string& id) {
  auto reply = admin.call("POST", "/api/sagas/" + url_encode(id) + "/retry");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin.fail(*reply);
  if (admin.json()) {
    admin.print_body(*reply);
  } else {
    admin.ctx().out << "saga " << field_text(reply->json, "id") << ": retried, status "
                    << field_text(reply->json, "status") << '\n';
  }
  return kExitOk;
}

int retry_failed(AdminClient& admin, boost::json::object filter) {
  auto reply =
      admin.call("POST", "/api/sagas/retry", boost::json::serialize(filter), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin.fail(*reply);
  return print_bulk_answer(admin, *reply, "retried");
}

}  // namespace

int run_retry(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  bool failed = false;
  std::optional<std::string> flow, key, from, to, limit;
  ArgParser parser("retry", kRetryUsage);
  parser.flag("--failed", failed)
      .value("--flow", flow)
      .value("--key", key)
      .value("--from", from)
      .value("--to", to)
      .value("--limit", limit);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  const bool filtered = flow || key || from || to || limit;
  std::optional<long long> max;
  if (failed) {
    if (!parser.positional().empty()) {
      return parser.usage_error(ctx, "give either a saga id or --failed, not both");
    }
    if (limit && !(max = parse_integer(*limit, 1, 1000))) {
      return parser.usage_error(ctx, "--limit takes a number in 1..1000");
    }
  } else {
    if (filtered) return parser.usage_error(ctx, "filters go with --failed");
    if (parser.positional().size() != 1) {
      return parser.usage_error(ctx, parser.positional().empty() ? "give a saga id, or --failed"
                                                                 : "give exactly one saga id");
    }
  }
  auto admin = AdminClient::open(options, parser, ctx, "retry");
  if (!admin) return kExitUsage;
  if (!failed) return retry_one(*admin, parser.positional().front());
  boost::json::object filter;
  if (flow) filter["flow"] = *flow;
  if (key) filter["key"] = *key;
  if (from) filter["from"] = *from;
  if (to) filter["to"] = *to;
  if (max) filter["limit"] = *max;
  return retry_failed(*admin, std::move(filter));
}

}  // namespace sagactl
