// `sagactl conform`: drives a live worker of any language over the broker and checks each rule
// of docs/protocol.md it can observe from outside (docs/sagactl.md lists them).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "args.hpp"
#include "command.hpp"
#include "sagaflow/rabbitmq/probe.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

namespace rmq = sagaflow::rabbitmq;
using rmq::ProbeHeader;
using rmq::ProbeMessage;
using std::chrono::milliseconds;

constexpr std::string_view kConformUsage =
    "usage: sagactl conform --service S --command TYPE --payload JSON\n"
    "                       [--compensation TYPE --compensation-payload JSON]\n"
    "                       [--amqp URL] [--prefix P] [--timeout MS] [--max-message-bytes N]\n"
    "                       [--json]\n"
    "\n"
    "Checks a running worker of the service S against docs/protocol.md: sends it commands\n"
    "(well-formed, repeated, retried, malformed, oversized, without reply_to) through the\n"
    "broker and checks its replies and dead letters. Prints one line per rule with its section.\n"
    "\n"
    "options:\n"
    "  --service S                the service the worker serves (routing key, queue P.commands.S)\n"
    "  --command TYPE             a command type it serves (S.NAME) and succeeds with --payload\n"
    "  --payload JSON             that command's body; each {{unique}} in it is replaced by a\n"
    "                             fresh id per check, so that references are never reused\n"
    "  --compensation TYPE        the command that undoes TYPE (checked only when given)\n"
    "  --compensation-payload JSON  its body ({{unique}}: the same id as its forward command)\n"
    "  --amqp URL                 the broker (default: $SAGAFLOW_AMQP_URL, else\n"
    "                             amqp://guest:guest@127.0.0.1:5672/)\n"
    "  --prefix P                 the topology's name prefix (default: sagaflow)\n"
    "  --timeout MS               how long to wait for each reply or dead letter (default 5000)\n"
    "  --max-message-bytes N      the worker's body limit (default 1048576)\n"
    "  --json                     print the results as one JSON document\n"
    "\n"
    "Exit status: 0 every rule holds, 1 a rule failed, 2 usage, 4 the broker cannot be reached\n"
    "or refused a command (nobody serves the service).\n";

struct RuleResult {
  std::string section;
  std::string rule;
  bool ok = true;
  std::string detail;
};

struct Options {
  std::string service, command, payload, compensation, compensation_payload;
  std::string prefix = "sagaflow";
  milliseconds timeout{5000};
  std::size_t max_message_bytes = rmq::kDefaultMaxMessageBytes;
};

std::string random_hex(std::size_t digits) {
  static std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < digits; ++i) out += kHex[generator() % 16];
  return out;
}

std::string replace_unique(std::string text, const std::string& unique) {
  static constexpr std::string_view kMarker = "{{unique}}";
  for (auto at = text.find(kMarker); at != std::string::npos; at = text.find(kMarker, at)) {
    text.replace(at, kMarker.size(), unique);
    at += unique.size();
  }
  return text;
}

// The same JSON value (key order aside), else the same bytes.
bool same_body(const std::string& a, const std::string& b) {
  boost::system::error_code ea, eb;
  auto va = boost::json::parse(a, ea);
  auto vb = boost::json::parse(b, eb);
  if (ea || eb) return a == b;
  return va == vb;
}

std::string show(const std::optional<std::string>& v) {
  return v ? "'" + *v + "'" : "absent";
}

class Kit {
 public:
  Kit(const Options& options, rmq::Probe& probe)
      : options_(options),
        probe_(probe),
        saga_(random_hex(32)),
        traceparent_("00-" + random_hex(32) + "-" + random_hex(16) + "-01") {}

  const Options& options() const { return options_; }

  // A command of this kit's saga as the orchestrator would send it.
  ProbeMessage command(const std::string& type, std::string body, const std::string& step,
                       std::string_view direction, int attempt) const {
    ProbeMessage m;
    const std::string key = saga_ + "/" + step + "/" + std::string(direction);
    m.message_id = key + "/" + std::to_string(attempt);
    m.type = type;
    m.correlation_id = saga_;
    m.reply_to = probe_.reply_queue();
    m.content_type = "application/json";
    m.delivery_mode = 2;
    m.headers = {{.name = "sagaflow-kind", .text = "command"},
                 {.name = "attempt", .kind = ProbeHeader::Kind::integer, .number = attempt},
                 {.name = "flow", .text = "sagactl_conform"},
                 {.name = "step", .text = step},
                 {.name = "idempotency-key", .text = key},
                 {.name = "traceparent", .text = traceparent_}};
    m.body = std::move(body);
    return m;
  }

  std::string unique() { return "conform-" + saga_.substr(0, 12) + "-" + std::to_string(++n_); }
  std::string step(std::string_view what) { return std::string(what) + "_" + std::to_string(++n_); }

  void send(const ProbeMessage& m) { probe_.send_command(options_.service, m, options_.timeout); }

  // The replies addressed to `command_id` (by causation-id, or by message_id if causation-id is
  // missing), up to `count`, waiting at most `wait`.
  std::vector<ProbeMessage> replies_to(const std::string& command_id, std::size_t count,
                                       milliseconds wait) {
    return collect(replies_, command_id, count, wait,
                   [&](milliseconds left) { return probe_.next_reply(left); });
  }
  std::optional<ProbeMessage> reply_to(const std::string& command_id) {
    auto found = replies_to(command_id, 1, options_.timeout);
    if (found.empty()) return std::nullopt;
    return found.front();
  }
  std::optional<ProbeMessage> dead_letter_of(const std::string& command_id) {
    auto found = collect(dead_, command_id, 1, options_.timeout,
                         [&](milliseconds left) { return probe_.next_dead_letter(left); });
    if (found.empty()) return std::nullopt;
    return found.front();
  }

 private:
  template <typename Next>
  static std::vector<ProbeMessage> collect(std::vector<ProbeMessage>& pool, const std::string& id,
                                           std::size_t count, milliseconds wait, Next next) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    auto matches = [&](const ProbeMessage& m) {
      auto causation = m.text("causation-id");
      if (causation) return *causation == id;
      return m.message_id == id + "/reply" || m.message_id == id;
    };
    std::vector<ProbeMessage> found;
    for (;;) {
      for (auto it = pool.begin(); it != pool.end() && found.size() < count;) {
        if (matches(*it)) {
          found.push_back(std::move(*it));
          it = pool.erase(it);
        } else {
          ++it;
        }
      }
      if (found.size() >= count) return found;
      auto left =
          std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return found;
      auto m = next(left);
      if (!m) return found;
      pool.push_back(std::move(*m));
    }
  }

  const Options& options_;
  rmq::Probe& probe_;
  std::string saga_;
  std::string traceparent_;
  int n_ = 0;
  std::vector<ProbeMessage> replies_;
  std::vector<ProbeMessage> dead_;
};

std::string outcome_of(const ProbeMessage& reply) {
  auto outcome = reply.text("outcome").value_or("success");
  auto code = reply.text("error-code").value_or("");
  return code.empty() ? outcome : outcome + " " + code;
}

std::string summary(const ProbeMessage& reply) {
  return outcome_of(reply) + " " + reply.body;
}

// The same remembered answer: outcome, error code and body.
std::string differs(const ProbeMessage& a, const ProbeMessage& b) {
  if (outcome_of(a) != outcome_of(b) || !same_body(a.body, b.body)) {
    return "first answer " + summary(a) + ", then " + summary(b);
  }
  return {};
}

// Section 5's table: what a reply to `command` must carry. Empty when it does.
std::string envelope_problems(const ProbeMessage& command, const ProbeMessage& reply,
                              bool properties) {
  std::vector<std::string> problems;
  auto expect = [&](std::string_view what, const std::optional<std::string>& got,
                    const std::optional<std::string>& want) {
    if (got != want)
      problems.push_back(std::string(what) + " is " + show(got) + ", not " + show(want));
  };
  if (properties) {
    expect("message_id", reply.message_id, *command.message_id + "/reply");
    expect("type", reply.type, command.type);
    expect("correlation_id", reply.correlation_id, command.correlation_id);
    if (reply.reply_to) problems.push_back("reply_to is set");
    if (reply.content_type && *reply.content_type != "application/json") {
      problems.push_back("content_type is " + show(reply.content_type));
    }
    if (reply.delivery_mode != 2) problems.push_back("delivery_mode is not 2 (persistent)");
  } else {
    expect("header sagaflow-kind", reply.text("sagaflow-kind"), std::string("reply"));
    expect("header causation-id", reply.text("causation-id"), command.message_id);
    auto outcome = reply.text("outcome");
    if (!outcome || (*outcome != "success" && *outcome != "business_failure" &&
                     *outcome != "technical_error")) {
      problems.push_back("header outcome is " + show(outcome));
    }
    for (std::string_view name : {"flow", "step", "idempotency-key", "traceparent"}) {
      expect("header " + std::string(name), reply.text(name), command.text(name));
    }
    const auto* attempt = reply.header("attempt");
    const auto* sent = command.header("attempt");
    if (attempt == nullptr || attempt->kind != ProbeHeader::Kind::integer ||
        attempt->number != sent->number) {
      problems.push_back("header attempt is not the integer " + std::to_string(sent->number));
    }
    for (const auto& h : reply.headers) {
      if (h.name == "x-delivery-count" || h.name == "x-death" ||
          h.name.starts_with("x-first-death")) {
        problems.push_back("the broker's header " + h.name + " was copied");
      } else if (h.name != "attempt" && h.kind != ProbeHeader::Kind::string) {
        problems.push_back("header " + h.name + " is not a string");
      }
    }
    if (outcome == "success" && !reply.text("error-code").value_or("").empty()) {
      problems.push_back("a success carries error-code");
    }
    boost::system::error_code ec;
    auto body = boost::json::parse(reply.body, ec);
    if (ec || !body.is_object()) problems.push_back("the body is not a JSON object");
  }
  std::string text;
  for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
  return text;
}

class Checks {
 public:
  explicit Checks(Kit& kit) : kit_(kit) {}

  void run() {
    forward_command();
    duplicate_delivery();
    if (!kit_.options().compensation.empty()) compensations();
    unknown_type();
    missing_fields();
    dead_lettered("9", "a body that is not JSON is dead-lettered, not answered", "not_json",
                  [](ProbeMessage& m) { m.body = "{not json"; });
    dead_lettered("10", "a message over the size limit is dead-lettered, not answered", "oversized",
                  [&](ProbeMessage& m) {
                    m.body = "{\"padding\":\"" +
                             std::string(kit_.options().max_message_bytes, 'x') + "\"}";
                  });
    const auto orphan = dead_lettered("9", "a command without reply_to is dead-lettered whole",
                                      "no_reply_to", [](ProbeMessage& m) { m.reply_to.reset(); });
    not_applied(orphan);
  }

  const std::vector<RuleResult>& results() const { return results_; }

 private:
  void record(std::string section, std::string rule, std::string problem) {
    results_.push_back(
        {"§" + std::move(section), std::move(rule), problem.empty(), std::move(problem)});
  }

  ProbeMessage forward(const std::string& unique, const std::string& step, int attempt = 1) {
    return kit_.command(kit_.options().command, replace_unique(kit_.options().payload, unique),
                        step, "do", attempt);
  }
  ProbeMessage undo(const std::string& unique, const std::string& step, int attempt = 1) {
    return kit_.command(kit_.options().compensation,
                        replace_unique(kit_.options().compensation_payload, unique), step, "undo",
                        attempt);
  }
  static std::string no_reply(const ProbeMessage& command) {
    return "no reply to " + *command.message_id + " within the timeout";
  }

  void forward_command() {
    const auto unique = kit_.unique();
    const auto step = kit_.step("forward");
    auto command = forward(unique, step);
    kit_.send(command);
    auto reply = kit_.reply_to(*command.message_id);
    const std::string answered = "a command is answered with one reply";
    if (!reply) {
      record("5", answered, no_reply(command));
      return;
    }
    record("5", answered,
           reply->text("outcome").value_or("") == "success"
               ? ""
               : "answered " + summary(*reply) + ": give a --payload the service accepts");
    record("5",
           "the reply's properties: message_id, type, correlation_id, content_type, persistent",
           envelope_problems(command, *reply, true));
    record("5",
           "the reply's headers: kind, causation-id, outcome, copied attempt/flow/step/key/trace",
           envelope_problems(command, *reply, false));

    // The same message again once it was answered: as the broker redelivers a command whose ack
    // was lost.
    kit_.send(command);
    auto again = kit_.reply_to(*command.message_id);
    record("7", "a redelivered command (same message_id) is answered again, the same",
           again ? differs(*reply, *again) + envelope_problems(command, *again, true)
                 : no_reply(command));

    auto retry = forward(unique, step, 2);
    kit_.send(retry);
    auto retried = kit_.reply_to(*retry.message_id);
    std::string problem = retried ? differs(*reply, *retried) : no_reply(retry);
    if (retried) {
      auto addressing =
          envelope_problems(retry, *retried, true) + envelope_problems(retry, *retried, false);
      if (!addressing.empty()) problem += (problem.empty() ? "" : "; ") + addressing;
    }
    record("6",
           "a retry (new message_id, same idempotency-key) is answered from the remembered "
           "reply, addressed to the retry",
           problem);
  }

  void duplicate_delivery() {
    auto command = forward(kit_.unique(), kit_.step("duplicate"));
    kit_.send(command);
    kit_.send(command);
    auto replies = kit_.replies_to(*command.message_id, 2, kit_.options().timeout);
    const std::string rule = "duplicate delivery answered with the same reply";
    if (replies.size() < 2) {
      record("6", rule, std::to_string(replies.size()) + " of 2 replies to " + *command.message_id);
      return;
    }
    record("6", rule, differs(replies[0], replies[1]));
  }

  void compensations() {
    {
      auto command = undo(kit_.unique(), kit_.step("undo_first"));
      kit_.send(command);
      auto reply = kit_.reply_to(*command.message_id);
      record("4", "a compensation before its forward command succeeds (nothing to undo)",
             !reply ? no_reply(command)
             : reply->text("outcome").value_or("success") == "success"
                 ? ""
                 : "answered " + summary(*reply));
    }
    const auto unique = kit_.unique();
    const auto step = kit_.step("undo_twice");
    auto command = forward(unique, step);
    kit_.send(command);
    auto done = kit_.reply_to(*command.message_id);
    auto first = undo(unique, step);
    kit_.send(first);
    auto a = kit_.reply_to(*first.message_id);
    auto second = undo(unique, step, 2);
    kit_.send(second);
    auto b = kit_.reply_to(*second.message_id);
    std::string problem;
    if (!done)
      problem = no_reply(command);
    else if (!a)
      problem = no_reply(first);
    else if (!b)
      problem = no_reply(second);
    else if (outcome_of(*a) != "success")
      problem = "the compensation answered " + summary(*a);
    else
      problem = differs(*a, *b);
    record("6", "a compensation sent twice succeeds, with the same answer", problem);
  }

  // Sends `command` and returns what is wrong with its answer when it is not `expected`
  // ("business_failure Code"); `why` follows the answer seen.
  std::string expect_answer(const ProbeMessage& command, std::string_view expected,
                            std::string_view why = "") {
    kit_.send(command);
    auto reply = kit_.reply_to(*command.message_id);
    if (!reply) return no_reply(command);
    if (outcome_of(*reply) == expected) return {};
    return "answered " + summary(*reply) + std::string(why);
  }

  void unknown_type() {
    auto command = kit_.command(kit_.options().service + ".sagactl_conform_unknown", "{}",
                                kit_.step("unknown"), "do", 1);
    record("5", "an unknown command type is answered business_failure UnknownCommand",
           expect_answer(command, "business_failure UnknownCommand"));
  }

  void missing_fields() {
    auto command = kit_.command(kit_.options().command, "{}", kit_.step("missing_fields"), "do", 1);
    record("5",
           "a JSON body without the command's fields is answered business_failure "
           "MalformedPayload",
           expect_answer(command, "business_failure MalformedPayload"));
  }

  // A command with the key of one dead-lettered for want of reply_to, with a body missing its
  // fields: a worker that applied (and remembered) the first answers the remembered success; one
  // that dead-lettered it before applying runs this one and refuses it.
  void not_applied(const ProbeMessage& orphan) {
    auto retry = kit_.command(*orphan.type, "{}", *orphan.text("step"), "do", 2);
    record("6", "a command without reply_to is not applied nor remembered (checked before)",
           expect_answer(retry, "business_failure MalformedPayload",
                         " to a retry of its key with body {}, not business_failure "
                         "MalformedPayload: the first was applied"));
  }

  // A copy the worker made carries the reason's code from protocol.md's fixed set; a message
  // rejected without a copy carries only the broker's x-death.
  template <typename Spoil>
  ProbeMessage dead_lettered(std::string section, std::string rule, std::string_view code,
                             Spoil spoil) {
    auto command = forward(kit_.unique(), kit_.step("dead_letter"));
    spoil(command);
    kit_.send(command);
    auto dead = kit_.dead_letter_of(*command.message_id);
    std::string problem;
    if (!dead) {
      problem = "not dead-lettered within the timeout";
    } else {
      auto reason = dead->text("x-sagaflow-reason");
      auto queue = dead->text("x-sagaflow-queue");
      const std::string own_queue = kit_.options().prefix + ".commands." + kit_.options().service;
      if (!reason && dead->header("x-death") == nullptr) {
        problem = "dead-lettered without x-sagaflow-reason (nor x-death)";
      } else if (reason && queue != own_queue) {
        problem = "x-sagaflow-queue is " + show(queue) + ", not '" + own_queue + "'";
      } else if (auto given = dead->text("x-sagaflow-reason-code"); reason && given != code) {
        problem = "x-sagaflow-reason-code is " + show(given) + ", not '" + std::string(code) + "'";
      } else if (dead->body != command.body) {
        problem = "the dead letter's body is not the command's";
      } else if (dead->text("idempotency-key") != command.text("idempotency-key")) {
        problem = "the dead letter lost the command's headers";
      }
    }
    auto answered = kit_.replies_to(*command.message_id, 1, milliseconds(200));
    if (!answered.empty()) {
      problem += (problem.empty() ? "" : "; ") + std::string("it was answered ") +
                 summary(answered.front());
    }
    record(std::move(section), std::move(rule), problem);
    return command;
  }

  Kit& kit_;
  std::vector<RuleResult> results_;
};

void print(const std::vector<RuleResult>& results, bool as_json, Context& ctx) {
  std::size_t failed = 0;
  for (const auto& r : results) failed += r.ok ? 0 : 1;
  if (as_json) {
    boost::json::array rules;
    for (const auto& r : results) {
      rules.push_back(boost::json::object{
          {"section", r.section.substr(2)}, {"rule", r.rule}, {"ok", r.ok}, {"detail", r.detail}});
    }
    ctx.out << boost::json::serialize(boost::json::object{{"rules", std::move(rules)},
                                                          {"passed", results.size() - failed},
                                                          {"failed", failed}})
            << '\n';
    return;
  }
  for (const auto& r : results) {
    ctx.out << (r.ok ? "ok   " : "FAIL ") << r.section << ' ' << r.rule;
    if (!r.ok) ctx.out << ": " << sagaflow::text::printable(r.detail);
    ctx.out << '\n';
  }
  ctx.out << results.size()
          << " rules: " << (failed == 0 ? "all hold" : std::to_string(failed) + " failed") << '\n';
}

}  // namespace

int run_conform(std::span<const std::string_view> args, Context& ctx) {
  std::optional<std::string> service, command, payload, compensation, compensation_payload, amqp,
      prefix, timeout, max_bytes;
  bool as_json = false;
  ArgParser parser("conform", kConformUsage);
  parser.value("--service", service)
      .value("--command", command)
      .value("--payload", payload)
      .value("--compensation", compensation)
      .value("--compensation-payload", compensation_payload)
      .value("--amqp", amqp)
      .value("--prefix", prefix)
      .value("--timeout", timeout)
      .value("--max-message-bytes", max_bytes)
      .flag("--json", as_json);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (!parser.positional().empty()) return parser.usage_error(ctx, "conform takes no arguments");
  if (!service || !command || !payload) {
    return parser.usage_error(ctx, "--service, --command and --payload are required");
  }
  if (compensation.has_value() != compensation_payload.has_value()) {
    return parser.usage_error(ctx, "--compensation and --compensation-payload go together");
  }
  Options options{.service = *service,
                  .command = *command,
                  .payload = *payload,
                  .compensation = compensation.value_or(""),
                  .compensation_payload = compensation_payload.value_or("")};
  if (prefix) options.prefix = *prefix;
  if (timeout) {
    auto ms = parse_integer(*timeout, 1, 600000);
    if (!ms) return parser.usage_error(ctx, "--timeout must be milliseconds from 1 to 600000");
    options.timeout = milliseconds(*ms);
  }
  if (max_bytes) {
    auto n = parse_integer(*max_bytes, 1, 64LL * 1024 * 1024);
    if (!n) return parser.usage_error(ctx, "--max-message-bytes must be from 1 to 67108864");
    options.max_message_bytes = static_cast<std::size_t>(*n);
  }
  for (const auto* body : {&options.payload, &options.compensation_payload}) {
    boost::system::error_code ec;
    if (!body->empty() && !boost::json::parse(replace_unique(*body, "x"), ec).is_object()) {
      return parser.usage_error(
          ctx, "a payload must be a JSON object: " + sagaflow::text::printable(*body));
    }
  }
  if (!amqp) amqp = ctx.env("SAGAFLOW_AMQP_URL");
  try {
    auto connection =
        rmq::ConnectionSettings::from_url(amqp.value_or("amqp://guest:guest@127.0.0.1:5672/"));
    rmq::Topology topology;
    topology.prefix = options.prefix;
    rmq::Probe probe(connection, topology);
    Kit kit(options, probe);
    Checks checks(kit);
    checks.run();
    print(checks.results(), as_json, ctx);
    for (const auto& r : checks.results()) {
      if (!r.ok) return kExitFailure;
    }
    return kExitOk;
  } catch (const rmq::Error& e) {
    ctx.err << "sagactl conform: " << sagaflow::text::printable(e.what()) << '\n';
    return kExitUnavailable;
  }
}

}  // namespace sagactl
