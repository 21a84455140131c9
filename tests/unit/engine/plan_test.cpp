// What a plan tells the transports before any saga runs: whom it commands and what it listens to.
#include <doctest/doctest.h>

#include "engine_harness.hpp"

using namespace sagaflow;
using Strings = std::vector<std::string>;

namespace {

constexpr std::string_view kEveryKindOfSend = R"(
name: sends
version: 1
trigger: { event: order.placed }
steps:
  - name: hold
    command: { service: wallet, name: hold }
    compensation:
      - { when: $steps.capture != null, service: ledger, name: void }
      - { service: wallet, name: release }
  - name: lines
    foreach: { items: $input.lines, command: { service: stock, name: reserve } }
    irreversible: true
  - name: paid
    wait:
      events: [payment.done]
      failure_events: [payment.failed]
      correlate: $input.id
      key: $event.id
      timeout: 1m
      each_event: { service: ledger, name: record }
  - name: capture
    irreversible: true
    command: { service: wallet, name: capture }
on_compensated:
  - name: tell
    command: { service: mail, name: send }
)";

}  // namespace

TEST_CASE("a plan lists every service it commands, compensations and each_event included") {
  Plan plan(sagaflow::testing::load_test_flow(kEveryKindOfSend));
  CHECK(plan.services() == Strings{"wallet", "ledger", "stock", "mail"});
}

TEST_CASE("a plan listens to its trigger and to every event its waits accept or fail on") {
  Plan plan(sagaflow::testing::load_test_flow(kEveryKindOfSend));
  CHECK(plan.listened_events() == Strings{"order.placed", "payment.done", "payment.failed"});
}

TEST_CASE("a plan lists each event once, in the order first met, however many waits name it") {
  Plan plan(sagaflow::testing::load_test_flow(R"(
name: repeats
version: 1
trigger: { event: order.placed }
steps:
  - name: first
    wait:
      events: [payment.done, order.placed, stock.held]
      failure_events: [payment.failed]
      correlate: $input.id
      key: $event.id
      timeout: 1m
  - name: again
    wait:
      events: [stock.held, payment.failed, order.placed, stock.lost]
      correlate: $input.id
      key: $event.id
      timeout: 1m
)"));
  CHECK(plan.listened_events() ==
        Strings{"order.placed", "payment.done", "stock.held", "payment.failed", "stock.lost"});
}
