// `sagactl start FLOW`: starts a saga (POST /api/sagas), optionally waiting for a step or its end.
#include <algorithm>
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kStartUsage = with_admin_options(
    "usage: sagactl start FLOW [--input JSON|@FILE|@-] [--key K] [--flow-version N]\n"
    "                     [--wait-step STEP | --wait-end] [--timeout MS]\n"
    "                     [--start-at TIME] [OPTIONS]\n"
    "\n"
    "Starts a saga of FLOW and prints its id and status.\n"
    "\n"
    "options:\n"
    "  --input JSON        the saga's input: JSON text, @FILE to read it from a file,\n"
    "                      @- from stdin (default {})\n"
    "  --key K             idempotency key: a second start with K answers the first saga\n"
    "  --flow-version N    start version N of the flow (default: the latest)\n"
    "  --wait-step STEP    answer once step STEP has completed (prints its result)\n"
    "  --wait-end          answer once the saga has finished\n"
    "  --timeout MS        how long the server waits (it caps this at 30000)\n"
    "  --start-at TIME     a delayed start: the saga is stored now (status pending) and\n"
    "                      starts at TIME, RFC 3339 (2026-12-24T18:00:00Z); not with --wait-*\n",
    "\n"
    "Exit status: 0 started (and, when waiting, the step completed or the saga completed),\n"
    "1 refused (the input breaks the flow's contract) or, when waiting, the saga ended\n"
    "without completing (compensated, failed, cancelled), 2 usage, 3 no such flow,\n"
    "4 server unreachable or token refused, 5 the wait timed out: the saga keeps running.\n");

// The time the HTTP exchange may take beyond the server's own wait.
constexpr std::chrono::milliseconds kWaitMargin{10'000};
constexpr std::chrono::milliseconds kServerWaitCap{30'000};

}  // namespace

int run_start(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> input_arg, key, flow_version, wait_step, timeout, start_at;
  bool wait_end = false;
  ArgParser parser("start", kStartUsage);
  parser.value("--input", input_arg)
      .value("--key", key)
      .value("--flow-version", flow_version)
      .value("--wait-step", wait_step)
      .flag("--wait-end", wait_end)
      .value("--timeout", timeout)
      .value("--start-at", start_at);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no flow given" : "give exactly one flow");
  }
  if (wait_step && wait_end) {
    return parser.usage_error(ctx, "--wait-step and --wait-end exclude each other");
  }
  if (start_at && (wait_step || wait_end)) {
    return parser.usage_error(ctx, "--start-at excludes --wait-step and --wait-end");
  }
  if (timeout && !wait_step && !wait_end) {
    return parser.usage_error(ctx, "--timeout needs --wait-step or --wait-end");
  }
  std::optional<long long> timeout_ms;
  if (timeout && !(timeout_ms = parse_integer(*timeout, 1, 24LL * 3600 * 1000))) {
    return parser.usage_error(ctx, "--timeout takes milliseconds, e.g. 5000");
  }
  std::optional<long long> version;
  if (flow_version && !(version = parse_integer(*flow_version, 1, 1'000'000'000))) {
    return parser.usage_error(ctx, "--flow-version takes a version number (1, 2, ...)");
  }

  std::string unreadable;
  const auto input_text = argument_text(input_arg.value_or("{}"), "input", ctx, unreadable);
  if (!input_text) return parser.usage_error(ctx, unreadable);
  boost::system::error_code ec;
  auto input = boost::json::parse(*input_text, ec);
  if (ec) return parser.usage_error(ctx, "--input is not JSON: " + ec.message());

  boost::json::object body{{"flow", parser.positional().front()}, {"input", std::move(input)}};
  if (key) body["idempotency_key"] = *key;
  if (version) body["version"] = *version;
  if (wait_step) body["wait"] = boost::json::object{{"step", *wait_step}};
  if (wait_end) body["wait"] = boost::json::object{{"end", true}};
  if (timeout_ms) body["timeout_ms"] = *timeout_ms;
  if (start_at) body["start_at"] = *start_at;

  auto admin = AdminClient::open(options, parser, ctx, "start");
  if (!admin) return kExitUsage;
  // A waiting start answers when the server's wait ends: give the exchange that long and more.
  auto http_timeout = admin->timeout();
  if (wait_step || wait_end) {
    const auto server_wait = std::min(
        timeout_ms ? std::chrono::milliseconds(*timeout_ms) : kServerWaitCap, kServerWaitCap);
    http_timeout = std::max(http_timeout, server_wait + kWaitMargin);
  }
  auto reply = admin->call("POST", "/api/sagas", boost::json::serialize(body), "application/json",
                           http_timeout);
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin->fail(*reply);

  const std::string status = field_text(reply->json, "status");
  const std::string waited = field_text(reply->json, "waited");
  int exit_status = kExitOk;
  std::string problem;
  if (reply->status == 202) {
    exit_status = kExitTimeout;
    problem = "gave up waiting (the saga keeps running; see sagactl show " +
              field_text(reply->json, "id") + ")";
  } else if ((wait_step || wait_end) && status != "completed" && !(wait_step && waited == "step")) {
    exit_status = kExitFailure;
    problem = "the saga ended " + status + " before what was waited for";
  }
  if (admin->json()) {
    admin->print_body(*reply);
  } else {
    const auto* created = reply->json.as_object().if_contains("created");
    std::vector<std::pair<std::string, std::string>> fields{
        {"saga", field_text(reply->json, "id")},
        {"created", created && created->is_bool() && !created->get_bool()
                        ? "no: the key already started this saga"
                        : "yes"},
        {"status", status}};
    if (waited != "-") fields.push_back({"waited", waited});
    if (const auto* result = reply->json.as_object().if_contains("result");
        result != nullptr && !result->is_null()) {
      fields.push_back({"result", json_text(*result)});
    }
    ctx.out << format_fields(fields);
  }
  if (!problem.empty()) ctx.err << admin->prefix() << problem << '\n';
  return exit_status;
}

}  // namespace sagactl
