// Retry backoff as the engine lives it, on a manual clock: the policy from issue 11 never
// reaches the engine, and the delays it waits are the loader's checked arithmetic (one
// function, RetryPolicy::delay_before), saturating at max_delay, then jittered down.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "engine_harness.hpp"
#include "sagaflow/engine/backoff_jitter.hpp"

using namespace sagaflow;
using sagaflow::testing::EngineHarness;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

std::string charge_flow(const std::string& timeout, const std::string& retry) {
  return "name: backoff\nversion: 1\nsteps:\n  - name: charge\n    irreversible: true\n"
         "    command: { service: payments, name: charge }\n    timeout: " +
         timeout + "\n    retry: " + retry + "\n";
}

// The delay the last transition scheduled, as recorded in the saga's history.
milliseconds recorded_delay(const EngineHarness& h) {
  for (const auto& row : h.last.history) {
    if (row.kind == "retry_scheduled") {
      return milliseconds(json::parse(row.detail).at("delay_ms").to_number<std::int64_t>());
    }
  }
  FAIL("no retry was scheduled; history: " << h.history_kinds().size() << " records");
  return milliseconds(-1);
}

// Fails the command that is out and checks the retry the engine schedules: recorded, and its
// timer due exactly that long after now.
milliseconds fail_and_schedule(EngineHarness& h) {
  h.technical_error(h.sent("payments.charge"));
  const milliseconds delay = recorded_delay(h);
  CHECK(h.timers.at("step:charge") == h.clock.now() + delay);
  return delay;
}

}  // namespace

TEST_CASE("the policy from issue 11 is refused when loaded, at its retry, with its total") {
  const auto result = flow::load_flow_text(
      charge_flow("365d", "{ max_attempts: 999, initial_delay: 0ms, multiplier: 100 }"),
      "hostile.yaml");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.flow == nullptr);
  CHECK(result.diagnostics[0].to_string() ==
        "hostile.yaml:8:12: error: step 'charge' may retry for up to 364635d (max_attempts x "
        "timeout + backoff), more than the 7d allowed");
}

TEST_CASE("with a short timeout the same policy runs: 999 attempts, each sent at once") {
  EngineHarness h(charge_flow("1m", "{ max_attempts: 999, initial_delay: 0ms, multiplier: 100 }"));
  h.start(json::object{});
  for (std::uint32_t attempt = 1; attempt < 999; ++attempt) {
    CAPTURE(attempt);
    REQUIRE(h.sent("payments.charge").attempt == attempt);
    REQUIRE(fail_and_schedule(h) == milliseconds(0));
    h.fire("step:charge");
  }
  REQUIRE(h.sent("payments.charge").attempt == 999);
  h.technical_error(h.sent("payments.charge"));
  CHECK_FALSE(h.has_history("retry_scheduled"));
  CHECK(h.status() == Status::compensated);
}

TEST_CASE(
    "a steep valid policy waits up to 1s, 100s, then max_delay (1h) for every later attempt") {
  EngineHarness h(
      charge_flow("1m", "{ max_attempts: 8, initial_delay: 1s, multiplier: 100, max_delay: 1h }"));
  const auto& policy = h.plan->flow().steps.at(0).retry;
  h.start(json::object{});
  const std::vector<milliseconds> expected{seconds(1), seconds(100), hours(1), hours(1),
                                           hours(1),   hours(1),     hours(1)};
  for (std::uint32_t attempt = 1; attempt < 8; ++attempt) {
    CAPTURE(attempt);
    const std::string id = h.sent("payments.charge").id;
    CHECK(h.sent("payments.charge").attempt == attempt);
    const milliseconds delay = fail_and_schedule(h);
    CHECK(policy.delay_before(attempt + 1) == expected[attempt - 1]);  // the loader's arithmetic
    // The engine waits that delay, jittered by the next attempt's id (never longer).
    const std::string next = id.substr(0, id.rfind('/') + 1) + std::to_string(attempt + 1);
    CHECK(delay == sagaflow::jittered_backoff(expected[attempt - 1], next));
    CHECK(delay <= expected[attempt - 1]);
    h.fire("step:charge");
  }
  h.technical_error(h.sent("payments.charge"));
  CHECK(h.status() == Status::compensated);
}
