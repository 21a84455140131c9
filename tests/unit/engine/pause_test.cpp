// Pause and resume (Engine::pause/resume): a paused saga sends nothing; what comes meanwhile
// (replies to commands already out, events, timers) is recorded and applied at resume.
#include <doctest/doctest.h>

#include "engine_harness.hpp"

using namespace sagaflow;
using namespace sagaflow::testing;

namespace {

constexpr const char* kOrder = R"(
name: order
version: 1
timeout: 1h
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: {} }
    compensation: { service: stock, name: release, input: {} }
    retry: { max_attempts: 3, initial_delay: 1s, max_delay: 1s }
  - name: charge
    command: { service: billing, name: charge, input: {} }
    compensation: { service: billing, name: refund, input: {} }
)";

}  // namespace

TEST_CASE("a paused saga holds a reply and sends the next command only when resumed") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  auto reserve = h.sent("stock.reserve");
  h.pause("investigating");
  CHECK(h.status() == Status::paused);
  CHECK(h.has_history("saga_paused"));
  CHECK(h.last.outbox.empty());

  h.ok(reserve);
  CHECK(h.status() == Status::paused);
  CHECK(h.last.outbox.empty());
  CHECK(h.has_history("input_held"));

  h.reload();  // the held reply survives a restart
  REQUIRE(h.saga->held.size() == 1);
  h.resume();
  CHECK(h.has_history("saga_resumed"));
  CHECK(h.has_history("reply_received"));
  CHECK(h.status() == Status::running);
  h.ok(h.sent("billing.charge"));
  CHECK(h.status() == Status::completed);
}

TEST_CASE("a retry timer that comes due during a pause waits for the resume") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.technical_error(h.sent("stock.reserve"));
  REQUIRE(h.timers.count("step:reserve") == 1);
  h.pause();
  h.fire("step:reserve");
  CHECK(h.last.outbox.empty());
  CHECK(h.status() == Status::paused);
  h.resume();
  CHECK(h.sent("stock.reserve").attempt == 2);
  CHECK(h.status() == Status::running);
}

TEST_CASE("a reply held during a pause is applied before a timeout that also came due") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  auto reserve = h.sent("stock.reserve");
  h.pause();
  h.fire("step:reserve");  // the attempt's timeout comes due while paused
  h.ok(reserve);           // and then its reply
  h.resume();
  CHECK(h.sent("billing.charge").type == "billing.charge");
  CHECK(h.has_history("timer_ignored"));
  CHECK_FALSE(h.has_history("step_timed_out"));
}

TEST_CASE("the saga's deadline keeps running during a pause and takes effect at resume") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.ok(h.sent("stock.reserve"));
  h.pause();
  h.fire("saga");
  CHECK(h.status() == Status::paused);
  h.resume();
  CHECK(h.has_history("saga_timed_out"));
  CHECK(h.status() == Status::compensating);
}

TEST_CASE("pause refusals and cancelling a paused saga") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  auto reserve = h.sent("stock.reserve");
  CHECK_THROWS_AS(h.resume(), Refused);
  h.pause();
  CHECK_THROWS_AS(h.pause(), Refused);
  h.ok(reserve);  // held
  h.cancel("operator gave up");
  CHECK(h.status() == Status::compensating);
  CHECK(h.sent("stock.release").type == "stock.release");
}

TEST_CASE("a start held by a paused flow starts when resumed") {
  EngineHarness h(kOrder);
  h.start(json::object{}, {}, true);
  CHECK(h.status() == Status::paused);
  CHECK(h.last.outbox.empty());
  CHECK(h.has_history("saga_held"));
  CHECK(h.saga->paused_by == "flow");
  h.reload();
  h.resume();
  CHECK(h.status() == Status::running);
  CHECK(h.has_history("saga_started"));
  CHECK(h.sent("stock.reserve").attempt == 1);
}

TEST_CASE("a held start cancelled never sends anything") {
  EngineHarness h(kOrder);
  h.start(json::object{}, {}, true);
  h.cancel("not wanted");
  CHECK(h.status() == Status::cancelled);
  CHECK(h.last.outbox.empty());
}

TEST_CASE("a completed or parked saga cannot be paused") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.ok(h.sent("stock.reserve"));
  h.ok(h.sent("billing.charge"));
  REQUIRE(h.status() == Status::completed);
  CHECK_THROWS_AS(h.pause(), Refused);
}
