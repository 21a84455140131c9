// What a saga is doing now (engine/include/sagaflow/engine/in_flight.hpp): the commands out or
// waiting for their next attempt, the waits with their events, and which operator requests
// apply; the admin API's `in_flight` and `actions` and the dashboard's panel read them.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/in_flight.hpp"

using namespace sagaflow;
using namespace sagaflow::testing;

namespace {

constexpr const char* kBooking = R"(
name: booking
version: 1
steps:
  - name: charge
    command: { service: billing, name: charge, input: {} }
    retry: { max_attempts: 3, initial_delay: 2s, multiplier: 1 }
    compensation: { service: billing, name: refund, input: {} }
  - name: await_payment
    pivot: true
    wait:
      events: [payment.succeeded]
      failure_events: [payment.failed]
      correlate: $saga.id
      key: $event.payment_id
      timeout: 30m
  - name: confirm
    irreversible: true
    command: { service: booking, name: confirm, input: {} }
)";

// Every history record the saga wrote so far, as the store keeps them.
struct Recorder {
  std::vector<HistoryRow> all;
  void take(const EngineHarness& h) {
    all.insert(all.end(), h.last.history.begin(), h.last.history.end());
  }
};

}  // namespace

TEST_CASE("a command out, then waiting for its next attempt, then a wait, as steps in flight") {
  EngineHarness h(kBooking);
  Recorder r;
  h.start(json::object{});
  r.take(h);
  auto steps = steps_in_flight(*h.saga, r.all);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].step == "charge");
  CHECK(steps[0].phase == "awaiting_reply");
  CHECK(steps[0].command == "billing.charge");
  CHECK(steps[0].attempt == 1);
  CHECK_FALSE(steps[0].next_attempt_at);
  CHECK(can_cancel(*h.saga));
  CHECK_FALSE(can_retry(*h.saga));

  const auto failed_at = h.clock.now();
  h.technical_error(h.sent("billing.charge"));
  r.take(h);
  steps = steps_in_flight(*h.saga, r.all);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].phase == "retry_backoff");
  CHECK(steps[0].attempt == 1);
  // 2 s, jittered by the engine: the history's delay is the truth, and it is near 2 s.
  REQUIRE(steps[0].next_attempt_at);
  CHECK(*steps[0].next_attempt_at == h.timers.at(h.timers.begin()->first));
  CHECK(*steps[0].next_attempt_at > failed_at);

  h.fire(h.timers.begin()->first);
  r.take(h);
  h.ok(h.sent("billing.charge"));
  r.take(h);
  REQUIRE(h.status() == Status::waiting);
  steps = steps_in_flight(*h.saga, r.all);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].step == "await_payment");
  CHECK(steps[0].phase == "waiting_event");
  CHECK(steps[0].events == std::vector<std::string>{"payment.succeeded"});
  CHECK(steps[0].failure_events == std::vector<std::string>{"payment.failed"});
  CHECK(steps[0].key == "s1");
  CHECK(steps[0].key_path == "$event.payment_id");
  REQUIRE(steps[0].timeout_at);
  CHECK(*steps[0].timeout_at == h.clock.now() + std::chrono::minutes(30));
  CHECK(can_cancel(*h.saga));  // before its pivot

  // Past the pivot: the saga can only go forward.
  h.event("payment.succeeded", json::object{{"payment_id", "s1"}}, "e1");
  r.take(h);
  REQUIRE(h.status() == Status::running);
  CHECK_FALSE(can_cancel(*h.saga));
  steps = steps_in_flight(*h.saga, r.all);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].step == "confirm");

  // Failing past the pivot parks it: nothing in flight, an operator may retry it.
  h.business_failure(h.sent("booking.confirm"), "SlotGone");
  r.take(h);
  REQUIRE(h.status() == Status::failed);
  CHECK(steps_in_flight(*h.saga, r.all).empty());
  CHECK(can_retry(*h.saga));
  CHECK_FALSE(can_cancel(*h.saga));
}

TEST_CASE("a compensated saga has nothing in flight and allows neither retry nor cancel") {
  EngineHarness h(kBooking);
  Recorder r;
  h.start(json::object{});
  r.take(h);
  h.business_failure(h.sent("billing.charge"), "Declined");
  r.take(h);
  REQUIRE(h.status() == Status::compensated);
  CHECK(steps_in_flight(*h.saga, r.all).empty());
  CHECK_FALSE(can_cancel(*h.saga));
  CHECK_FALSE(can_retry(*h.saga));
}
