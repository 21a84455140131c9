#include "sagaflow/simulation/case_runner.hpp"

#include <algorithm>

#include "json_compare.hpp"
#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/simulation/world.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::simulation {

namespace {

// Enough timers for any bounded flow (7d of retries at the smallest delays would be more, but
// such a flow is no test); a saga still running after them is reported as it stands.
constexpr int kMaxTimers = 100'000;

const ReplyScript* script_for(const ReplyScripts& scripts, const std::string& activity) {
  if (auto exact = scripts.find(activity); exact != scripts.end()) return &exact->second;
  const auto step = std::string_view(activity).substr(0, activity.find('['));
  if (auto whole = scripts.find(step); whole != scripts.end()) return &whole->second;
  return nullptr;
}

std::optional<Message> scripted_reply(const TestCase& test, const Message& command) {
  const auto& scripts = is_compensation(command) ? test.compensation_replies : test.replies;
  const ReplyScript* script = script_for(scripts, command.step);
  if (script == nullptr || script->empty())
    return worker::make_reply(command, worker::Result::ok());
  const auto index =
      std::min<std::size_t>(std::max<std::uint32_t>(command.attempt, 1), script->size());
  const ScriptedReply& reply = (*script)[index - 1];
  switch (reply.kind) {
    case ScriptedReply::Kind::success:
      return worker::make_reply(command, worker::Result::ok(reply.payload));
    case ScriptedReply::Kind::business_failure:
      return worker::make_reply(command, worker::Result::business_failure(reply.code));
    case ScriptedReply::Kind::technical_error:
      return worker::make_reply(command, worker::Result::technical_error(reply.code));
    case ScriptedReply::Kind::no_answer:
      break;
  }
  return std::nullopt;
}

bool ended(const std::string& status) {
  auto parsed = status_from_string(status);
  return !parsed || is_final(*parsed) || *parsed == Status::failed;
}

json::value strings(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.emplace_back(s);
  return out;
}

json::value event_list(const std::vector<ExpectedEvent>& events, bool with_payloads) {
  json::array out;
  for (const auto& e : events) {
    if (with_payloads && e.payload) {
      out.push_back(json::object{{"event", e.type}, {"payload", *e.payload}});
    } else {
      out.emplace_back(e.type);
    }
  }
  return out;
}

// The events the saga published, with their payloads where the case expects one.
std::vector<ExpectedEvent> published(const World& world, const std::string& id) {
  std::vector<ExpectedEvent> out;
  for (const auto& m : world.sent()) {
    if (m.correlation_id != id || m.kind != MessageKind::event) continue;
    boost::system::error_code error;
    auto payload = json::parse(m.body, error);
    out.push_back({m.type, error ? json::value(m.body) : payload});
  }
  return out;
}

bool events_match(const std::vector<ExpectedEvent>& expected,
                  const std::vector<ExpectedEvent>& actual) {
  if (expected.size() != actual.size()) return false;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    if (expected[i].type != actual[i].type) return false;
    if (expected[i].payload &&
        !flow::detail::json_equal(*expected[i].payload, *actual[i].payload)) {
      return false;
    }
  }
  return true;
}

void compare(const Expectation& expect, World& world, const std::string& id,
             std::vector<Mismatch>& out) {
  const auto status = world.status(id);
  if (expect.status && *expect.status != status)
    out.push_back({"status", json::string(*expect.status), json::string(status)});
  if (expect.commands) {
    auto actual = world.commands(id);
    if (actual != *expect.commands) {
      out.push_back({"commands", strings(*expect.commands), strings(actual)});
    }
  }
  if (expect.compensations) {
    auto actual = world.compensations(id);
    if (actual != *expect.compensations) {
      out.push_back({"compensations", strings(*expect.compensations), strings(actual)});
    }
  }
  for (const auto& [step, expected] : expect.outputs) {
    auto actual = world.result(id, step);
    if (!flow::detail::json_equal(expected, actual)) {
      out.push_back({"outputs." + step, expected, actual});
    }
  }
  if (expect.events) {
    // Payloads are shown only for the events whose payload the case gives.
    auto actual = published(world, id);
    if (!events_match(*expect.events, actual)) {
      std::vector<ExpectedEvent> shown = actual;
      for (std::size_t i = 0; i < shown.size(); ++i) {
        const bool wanted = i < expect.events->size() && (*expect.events)[i].payload;
        if (!wanted) shown[i].payload.reset();
      }
      out.push_back({"events", event_list(*expect.events, true), event_list(shown, true)});
    }
  }
}

}  // namespace

CaseOutcome run_case(const std::shared_ptr<const flow::Flow>& flow, const TestCase& test) {
  CaseOutcome outcome;
  outcome.name = test.name;
  outcome.line = test.line;
  World world;
  world.add_flow(flow);
  world.serve_others([&test](const Message& command) { return scripted_reply(test, command); });
  const auto started = world.clock().now();
  std::string id;
  try {
    id = world.start(flow->name, test.input, {}, std::string(kSimulatedSagaId));
    for (const auto& action : test.actions) {
      const auto due = started + action.at;
      if (due > world.clock().now()) world.advance(due - world.clock().now());
      if (action.cancel) {
        try {
          world.cancel(id, action.type);
        } catch (const std::exception& refused) {
          outcome.error = "the cancel at line " + std::to_string(action.line) +
                          " was refused: " + refused.what();
        }
      } else {
        world.publish_event(action.type, action.payload, action.id);
      }
    }
    for (int timers = 0; timers < kMaxTimers && !ended(world.status(id)); ++timers) {
      if (!world.advance_to_next_timer()) break;
    }
  } catch (const std::exception& e) {
    outcome.error = id.empty() ? std::string("the saga was not started: ") + e.what() : e.what();
  }
  outcome.simulated = world.clock().now() - started;
  if (!id.empty()) {
    compare(test.expect, world, id, outcome.mismatches);
    outcome.history = world.history(id);
  }
  outcome.passed = outcome.error.empty() && outcome.mismatches.empty();
  return outcome;
}

std::vector<std::string> diff_lines(const std::vector<std::string>& expected,
                                    const std::vector<std::string>& actual) {
  // lcs[i][j]: the longest common subsequence of expected[i..] and actual[j..].
  const std::size_t n = expected.size();
  const std::size_t m = actual.size();
  std::vector<std::vector<std::size_t>> lcs(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] =
          expected[i] == actual[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::string> out;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] == actual[j]) {
      out.push_back("  " + expected[i++]);
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back("- " + expected[i++]);
    } else {
      out.push_back("+ " + actual[j++]);
    }
  }
  return out;
}

}  // namespace sagaflow::simulation
