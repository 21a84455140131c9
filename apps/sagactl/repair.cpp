// `sagactl skip ID` (POST /api/sagas/{id}/skip) and `sagactl edit ID` (POST
// /api/sagas/{id}/edit): an operator's repairs of a parked saga, recorded in its history with
// who did them (--actor, default $SAGAFLOW_ACTOR, else $USER) and why (--reason).
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

constexpr std::string_view kRepairOptions =
    "  --reason R          why, recorded in the saga's history\n"
    "  --actor A           who, recorded in the saga's history (sent as the X-Sagaflow-Actor\n"
    "                      header; default $SAGAFLOW_ACTOR, else $USER)\n";

constexpr std::string_view kRepairExit =
    "\n"
    "Exit status: 0 done, 1 refused (the saga is not parked, or the server refused the\n"
    "JSON: 409, 422), 2 usage, 3 no such saga, 4 server unreachable or token refused.\n";

const std::string kSkipUsage = with_admin_options(
    std::string(
        "usage: sagactl skip ID --output JSON|@FILE|@- [--step S] [--reason R]\n"
        "                    [--actor A] [OPTIONS]\n"
        "\n"
        "Skips the failed step of a parked saga: the saga goes on from the next step as\n"
        "if the step had answered with OUTPUT (its output as later steps read it, after\n"
        "its 'output' mapping). The output must carry every field the flow reads of the\n"
        "step. A skipped step is never compensated.\n"
        "\n"
        "options:\n"
        "  --output JSON       the step's output: JSON text, @FILE, or @- for stdin\n"
        "  --step S            the step to skip (default: the one the saga is parked on)\n") +
        std::string(kRepairOptions),
    kRepairExit);

const std::string kEditUsage = with_admin_options(
    std::string("usage: sagactl edit ID --input JSON|@FILE|@- [--replace] [--no-retry]\n"
                "                    [--reason R] [--actor A] [OPTIONS]\n"
                "\n"
                "Edits the input of a parked saga, then retries it. The new input must satisfy\n"
                "the flow's input contract.\n"
                "\n"
                "options:\n"
                "  --input JSON        a JSON merge patch (RFC 7386: null removes a field) to\n"
                "                      apply to the input; JSON text, @FILE, or @- for stdin\n"
                "  --replace           INPUT is the whole new input, not a patch\n"
                "  --no-retry          edit only; the saga stays parked\n") +
        std::string(kRepairOptions),
    kRepairExit);

// Sends the repair and prints its answer.
int post_repair(AdminClient& admin, const std::string& id, std::string_view action,
                const boost::json::object& body, const std::optional<std::string>& actor) {
  if (actor && !actor->empty() && actor->find_first_of("\r\n") == std::string::npos) {
    admin.set_actor(*actor);
  }
  auto reply = admin.call("POST", "/api/sagas/" + url_encode(id) + "/" + std::string(action),
                          boost::json::serialize(body), "application/json");
  if (!reply) return kExitUnavailable;
  if (!reply->ok()) return admin.fail(*reply);
  if (admin.json()) {
    admin.print_body(*reply);
  } else {
    admin.ctx().out << "saga " << field_text(reply->json, "id") << ": "
                    << (action == "skip" ? "step skipped" : "edited") << ", status "
                    << field_text(reply->json, "status") << '\n';
  }
  return kExitOk;
}

// The one saga id and the JSON of the required --output or --input (text, @FILE or @-);
// nullopt after a usage error, whose exit status is then in `status`.
std::optional<boost::json::value> id_and_json(const ArgParser& parser, Context& ctx,
                                              const std::optional<std::string>& value,
                                              std::string_view option, int& status) {
  status = kExitUsage;
  const auto fail = [&](std::string_view message) {
    status = parser.usage_error(ctx, message);
    return std::nullopt;
  };
  if (parser.positional().size() != 1) {
    return fail(parser.positional().empty() ? "no saga id given" : "give exactly one saga id");
  }
  const std::string name = "--" + std::string(option);
  if (!value) return fail(name + " is required");
  std::string unreadable;
  const auto text = argument_text(*value, option, ctx, unreadable);
  if (!text) return fail(unreadable);
  boost::system::error_code ec;
  auto parsed = boost::json::parse(*text, ec);
  if (ec) return fail(name + " is not JSON: " + ec.message());
  return parsed;
}

}  // namespace

int run_skip(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> output_arg, step, reason, actor;
  ArgParser parser("skip", kSkipUsage);
  parser.value("--output", output_arg)
      .value("--step", step)
      .value("--reason", reason)
      .value("--actor", actor);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  int status = kExitUsage;
  auto output = id_and_json(parser, ctx, output_arg, "output", status);
  if (!output) return status;
  auto admin = AdminClient::open(options, parser, ctx, "skip");
  if (!admin) return kExitUsage;
  boost::json::object body{{"output", std::move(*output)}};
  if (step) body["step"] = *step;
  if (reason) body["reason"] = *reason;
  return post_repair(*admin, parser.positional().front(), "skip", body, actor);
}

int run_edit(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> input_arg, reason, actor;
  bool replace = false;
  bool no_retry = false;
  ArgParser parser("edit", kEditUsage);
  parser.value("--input", input_arg)
      .flag("--replace", replace)
      .flag("--no-retry", no_retry)
      .value("--reason", reason)
      .value("--actor", actor);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  int status = kExitUsage;
  auto input = id_and_json(parser, ctx, input_arg, "input", status);
  if (!input) return status;
  if (!input->is_object()) return parser.usage_error(ctx, "--input must be a JSON object");
  auto admin = AdminClient::open(options, parser, ctx, "edit");
  if (!admin) return kExitUsage;
  boost::json::object body{
      {"input", std::move(*input)}, {"mode", replace ? "replace" : "merge"}, {"retry", !no_retry}};
  if (reason) body["reason"] = *reason;
  return post_repair(*admin, parser.positional().front(), "edit", body, actor);
}

}  // namespace sagactl
