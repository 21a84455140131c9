// Delayed starts (StartRequest::start_at): the saga is stored pending with a "start" timer in the
// same transition, and starts when the timer comes due, never before.
#include <doctest/doctest.h>

#include "engine_harness.hpp"

using namespace sagaflow;
using namespace sagaflow::testing;

namespace {

constexpr const char* kOrder = R"(
name: order
version: 1
timeout: 1h
input:
  item: { type: string }
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: { item: $input.item } }
    compensation: { service: stock, name: release, input: {} }
)";

}  // namespace

TEST_CASE("a delayed start is stored pending with its timer and sends nothing until it is due") {
  EngineHarness h(kOrder);
  const auto at = h.clock.now() + std::chrono::hours(2);
  h.start(json::object{{"item", "book"}}, {}, false, at);
  CHECK(h.status() == Status::pending);
  CHECK(h.last.outbox.empty());
  CHECK(h.has_history("saga_scheduled"));
  CHECK_FALSE(h.has_history("saga_started"));
  REQUIRE(h.timers.count("start") == 1);
  CHECK(h.timers["start"] == at);
  CHECK(h.timers.count("saga") == 0);  // the saga's deadline counts from its real start

  h.reload();  // the delay survives a restart: the state keeps start_at
  REQUIRE(h.saga->start_at.has_value());
  CHECK(*h.saga->start_at == at);

  h.fire("start");
  CHECK(h.clock.now() == at);
  CHECK(h.status() == Status::running);
  CHECK(h.has_history("saga_started"));
  CHECK(h.sent("stock.reserve").type == "stock.reserve");
  REQUIRE(h.timers.count("saga") == 1);
  CHECK(h.timers["saga"] == at + std::chrono::hours(1));
}

TEST_CASE("a start_at that is not in the future starts at once") {
  EngineHarness h(kOrder);
  h.start(json::object{{"item", "book"}}, {}, false, h.clock.now());
  CHECK(h.status() == Status::running);
  CHECK(h.timers.count("start") == 0);
  CHECK_FALSE(h.saga->start_at.has_value());
}

TEST_CASE("a delayed start checks its input when it is asked for, not when it starts") {
  EngineHarness h(kOrder);
  CHECK_THROWS_AS(
      h.start(json::object{{"item", 3}}, {}, false, h.clock.now() + std::chrono::minutes(5)),
      InvalidInput);
}

TEST_CASE("a delayed start can be cancelled before its time and never starts") {
  EngineHarness h(kOrder);
  h.start(json::object{{"item", "book"}}, {}, false, h.clock.now() + std::chrono::minutes(5));
  h.cancel("not needed");
  CHECK(h.status() == Status::cancelled);
  CHECK(h.last.outbox.empty());
  CHECK(h.timers.count("start") == 0);
}

TEST_CASE("a delayed start resumed before its time still waits for it") {
  EngineHarness h(kOrder);
  const auto at = h.clock.now() + std::chrono::minutes(5);
  h.start(json::object{{"item", "book"}}, {}, false, at);
  h.pause();
  CHECK(h.status() == Status::paused);
  h.resume();
  CHECK(h.status() == Status::pending);
  CHECK(h.last.outbox.empty());
  h.fire("start");
  CHECK(h.status() == Status::running);
  CHECK(h.sent("stock.reserve").type == "stock.reserve");
}

TEST_CASE("a delayed start that comes due while paused starts at resume") {
  EngineHarness h(kOrder);
  h.start(json::object{{"item", "book"}}, {}, false, h.clock.now() + std::chrono::minutes(5));
  h.pause();
  h.fire("start");
  CHECK(h.status() == Status::paused);
  CHECK(h.last.outbox.empty());
  h.resume();
  CHECK(h.status() == Status::running);
  CHECK(h.sent("stock.reserve").type == "stock.reserve");
}

TEST_CASE(
    "a delayed start that comes due while its flow is paused is held like the flow's starts") {
  EngineHarness h(kOrder);
  h.start(json::object{{"item", "book"}}, {}, false, h.clock.now() + std::chrono::minutes(5));
  h.fire("start", true);
  CHECK(h.status() == Status::paused);
  CHECK(h.saga->paused_by == "flow");
  CHECK(h.has_history("saga_held"));
  CHECK(h.last.outbox.empty());
  CHECK(h.timers.count("start") == 0);
  h.resume();
  CHECK(h.status() == Status::running);
  CHECK(h.sent("stock.reserve").type == "stock.reserve");
}
