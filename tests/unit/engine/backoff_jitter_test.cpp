// Retry backoff jitter: a factor between 0.5 and 1.0 of the policy's delay, chosen by the
// command id, so that sagas failing together do not retry together, and tests stay exact.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>

#include "engine_harness.hpp"
#include "sagaflow/engine/backoff_jitter.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;

TEST_CASE("backoff jitter stays between half and all of the delay, for every id") {
  int lowest = 1000;
  int highest = 0;
  for (int i = 0; i < 5000; ++i) {
    const auto id = "saga-" + std::to_string(i) + "/reserve/do/" + std::to_string(i % 7 + 2);
    const int permille = backoff_permille(id);
    CAPTURE(id);
    REQUIRE(permille >= 500);
    REQUIRE(permille <= 1000);
    lowest = std::min(lowest, permille);
    highest = std::max(highest, permille);
    const auto delay = jittered_backoff(10s, id);
    CHECK(delay >= 5s);
    CHECK(delay <= 10s);
    CHECK(delay == Duration{10'000 * permille / 1000});
  }
  // The factors spread over the whole range: sagas that failed together retry apart.
  CHECK(lowest < 510);
  CHECK(highest > 990);
}

TEST_CASE("backoff jitter is the same for the same command id, and differs between attempts") {
  const std::string id = "0f3c9a/authorize[2]/do/3";
  CHECK(jittered_backoff(1500ms, id) == jittered_backoff(1500ms, std::string(id)));
  std::set<int> factors;
  for (int attempt = 2; attempt < 12; ++attempt) {
    factors.insert(backoff_permille("0f3c9a/authorize[2]/do/" + std::to_string(attempt)));
  }
  CHECK(factors.size() >= 8);  // ten attempts, nearly all with a factor of their own
}

TEST_CASE("backoff jitter never overflows and never goes negative") {
  const std::string id = "s/step/do/2";
  const auto permille = backoff_permille(id);
  const auto huge = jittered_backoff(Duration::max(), id);
  CHECK(huge <= Duration::max());
  CHECK(huge >= Duration{Duration::max().count() / 1000 * permille});
  CHECK(jittered_backoff(Duration{0}, id) == Duration{0});
  CHECK(jittered_backoff(Duration{-5}, id) == Duration{0});
  CHECK(jittered_backoff(Duration{1}, id) == Duration{permille == 1000 ? 1 : 0});
}

namespace {

constexpr std::string_view kRetried = R"(
name: retried
version: 1
steps:
  - name: call
    command: { service: a, name: call, input: {} }
    retry: { max_attempts: 4, initial_delay: 1s, multiplier: 3, max_delay: 5s }
    compensation: { service: a, name: undo, input: {}, retry: { max_attempts: 3, initial_delay: 2s } }
  - name: next
    irreversible: true
    command: { service: a, name: next, input: {} }
)";

std::int64_t recorded_delay(const sagaflow::testing::EngineHarness& h, std::string_view kind) {
  for (const auto& row : h.last.history) {
    if (row.kind == kind) return json::parse(row.detail).at("delay_ms").to_number<std::int64_t>();
  }
  FAIL("no " << kind << " in the last transition");
  return -1;
}

}  // namespace

TEST_CASE("the engine jitters each retry's backoff by the id of the attempt it precedes") {
  sagaflow::testing::EngineHarness h(kRetried);
  h.start(json::object{});
  // The policy's delays before attempts 2, 3, 4: 1 s, 3 s, 5 s (capped).
  const Duration policy[] = {1s, 3s, 5s};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    CAPTURE(attempt);
    const auto command = h.sent("a.call");
    REQUIRE(command.attempt == static_cast<std::uint32_t>(attempt));
    const auto failed_at = h.clock.now();
    h.technical_error(command);
    const auto next_id = "s1/call/do/" + std::to_string(attempt + 1);
    const auto expected = jittered_backoff(policy[attempt - 1], next_id);
    CHECK(expected <= policy[attempt - 1]);
    CHECK(expected >= policy[attempt - 1] / 2);
    CHECK(h.timers.at("step:call") - failed_at == expected);
    CHECK(recorded_delay(h, "retry_scheduled") == expected.count());
    h.fire("step:call");
  }
  h.ok(h.sent("a.call"));
  // The second step fails for good: the compensation of `call` is retried with jitter too.
  h.business_failure(h.sent("a.next"), "No");
  const auto undo = h.sent("a.undo");
  const auto failed_at = h.clock.now();
  h.technical_error(undo);
  const auto expected = jittered_backoff(2s, "s1/call/undo/2");
  CHECK(h.timers.at("step:call") - failed_at == expected);
  CHECK(recorded_delay(h, "compensation_retry_scheduled") == expected.count());
}
