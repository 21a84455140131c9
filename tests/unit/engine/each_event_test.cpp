// A wait's `each_event` command: one command per accepted event, and the wait ends only when
// its condition held and every one of those commands succeeded.
#include <doctest/doctest.h>

#include "engine_harness.hpp"

using namespace sagaflow;
using sagaflow::testing::EngineHarness;

namespace {

constexpr std::string_view kRecordedPayments = R"(
name: activation
version: 1
input:
  order_id: string
steps:
  - name: authorize
    command: { service: certificates, name: authorize, input: { order: $input.order_id } }
    compensation: { service: certificates, name: release, input: { order: $input.order_id } }
  - name: await_payment
    wait:
      events: [All_Payments]
      correlate: $input.order_id
      key: $event.orderId
      until: $event.isOrderSettled == true && $event.outstandingAmount == 0
      stale: $event.paymentVersion <= $steps.await_payment.version
      timeout: 30m
      each_event:
        service: certificates
        name: record_payment
        input: { order: $input.order_id, version: $steps.await_payment.version, collected: $steps.await_payment.captured }
        retry: { max_attempts: 3, initial_delay: 1s }
        timeout: 5s
    output: { version: $event.paymentVersion, captured: $event.capturedAmount }
  - name: activate
    irreversible: true
    command: { service: certificates, name: activate, input: { order: $input.order_id } }
)";

json::value payment(int version, int captured, int outstanding, bool settled) {
  return json::object{{"orderId", "o-1"},
                      {"paymentVersion", version},
                      {"capturedAmount", captured},
                      {"outstandingAmount", outstanding},
                      {"isOrderSettled", settled}};
}

void reach_the_wait(EngineHarness& h) {
  h.start(json::object{{"order_id", "o-1"}});
  h.ok(h.sent("certificates.authorize"));
  REQUIRE(h.status() == Status::waiting);
}

}  // namespace

TEST_CASE("each accepted event sends its own command, reading the result it just updated") {
  EngineHarness h(kRecordedPayments);
  reach_the_wait(h);
  h.event("All_Payments", payment(1, 30, 70, false), "e1");
  auto first = h.sent("certificates.record_payment");
  CHECK(first.step == "await_payment[0]");
  CHECK(json::parse(first.body) == json::parse(R"({"order":"o-1","version":1,"collected":30})"));
  CHECK(h.status() == Status::running);  // a command is out
  h.ok(first);
  CHECK(h.status() == Status::waiting);

  h.event("All_Payments", payment(1, 30, 70, false), "e1-again");  // stale: no command
  CHECK(h.last.outbox.empty());
  h.event("All_Payments", payment(2, 60, 40, false), "e2");
  CHECK(h.sent("certificates.record_payment").step == "await_payment[1]");
  CHECK(h.sent("certificates.record_payment").idempotency_key != first.idempotency_key);
}

TEST_CASE("the settling event's command must succeed before the saga goes on") {
  EngineHarness h(kRecordedPayments);
  reach_the_wait(h);
  h.event("All_Payments", payment(1, 100, 0, true), "e1");
  auto record = h.sent("certificates.record_payment");
  CHECK(h.last.unsubscribe.size() == 1);  // the wait has what it waited for
  CHECK(h.saga->nodes[1] == NodeStatus::active);
  h.technical_error(record);
  CHECK(h.has_history("retry_scheduled"));
  h.fire("step:await_payment[0]");
  h.ok(h.sent("certificates.record_payment"));
  h.ok(h.sent("certificates.activate"));
  CHECK(h.status() == Status::completed);
}

TEST_CASE("an each_event command that keeps failing compensates the saga") {
  EngineHarness h(kRecordedPayments);
  reach_the_wait(h);
  h.event("All_Payments", payment(1, 30, 70, false), "e1");
  h.business_failure(h.sent("certificates.record_payment"), "UnknownOrder");
  CHECK(h.status() == Status::compensating);
  CHECK(h.last.unsubscribe.size() == 1);
  // The bookkeeping command has nothing to undo; the authorization is released.
  CHECK(h.sent("certificates.release").step == "authorize");
  CHECK(h.last.outbox.size() == 1);
}

TEST_CASE("an each_event command still out survives a reload of the saga") {
  EngineHarness h(kRecordedPayments);
  reach_the_wait(h);
  h.event("All_Payments", payment(1, 100, 0, true), "e1");
  auto record = h.sent("certificates.record_payment");
  h.reload();
  h.ok(record);
  h.ok(h.sent("certificates.activate"));
  CHECK(h.status() == Status::completed);
}
