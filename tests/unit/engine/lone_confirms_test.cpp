// Confirms that come while no input does (outbox rows to delete, attempt timers to start) ride
// with the next round that has inputs, and take a commit of their own only after 100 ms
// (kLoneConfirmsWait in orchestrator.cpp) or when they are a round's worth: at light load a
// commit for them alone was on a saga's chain, a reply arriving during it waited for its fsync.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::ManualClock;
using sagaflow::testing::MemoryStore;

namespace {

constexpr std::string_view kFlow = R"(
name: payment
version: 1
steps:
  - name: reserve
    command: { service: points, name: reserve, input: {} }
    timeout: 30s
  - name: charge
    command: { service: billing, name: charge, input: {} }
    timeout: 30s
)";

struct World {
  World() { flows.add(sagaflow::testing::load_test_flow(kFlow)); }

  std::string start() {
    auto started = orchestrator->start(StartRequest{.flow = "payment", .input = json::object{}});
    orchestrator->run_once(0ms);
    return started.get().saga_id;
  }
  void answer_last() {
    REQUIRE(!transport.published.empty());
    transport.deliver(worker::make_reply(transport.published.back(), worker::Result::ok()));
  }

  FlowRegistry flows;
  MemoryStore store;
  FakeTransport transport;
  ManualClock clock;
  std::unique_ptr<Orchestrator> orchestrator = std::make_unique<Orchestrator>(
      flows, store, transport, clock, OrchestratorOptions{.timer_poll = 0ms});
};

}  // namespace

TEST_CASE("a confirm alone takes no commit of its own until it has waited 100 ms") {
  World w;
  auto id = w.start();
  REQUIRE(w.transport.published.size() == 1);  // sent after the start's commit, confirmed at once
  const auto commits = w.store.commits();
  for (int i = 0; i < 5; ++i) w.orchestrator->run_once(0ms);
  CHECK(w.store.commits() == commits);                // idle rounds commit nothing
  CHECK(w.store.unpublished_outbox(10).size() == 1);  // the confirmed row is still there

  w.clock.advance(99ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.store.commits() == commits);
  w.clock.advance(1ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.store.commits() == commits + 1);  // waited 100 ms: committed alone
  CHECK(w.store.unpublished_outbox(10).empty());
  CHECK(w.store.load(id)->status == "running");
}

TEST_CASE("a confirm rides with the commit of the next reply: one commit for both") {
  World w;
  auto id = w.start();
  const auto commits = w.store.commits();
  w.orchestrator->run_once(0ms);  // idle: the confirm waits
  w.answer_last();
  w.orchestrator->run_once(0ms);
  CHECK(w.store.commits() == commits + 1);  // the reply's transition and the confirm's deletion
  REQUIRE(w.transport.published.size() == 2);
  // reserve's row went with the reply's commit; charge's row is confirmed, not committed yet.
  auto rows = w.store.unpublished_outbox(10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].message.type == "billing.charge");

  w.answer_last();
  w.orchestrator->run_once(0ms);
  CHECK(w.store.commits() == commits + 2);
  CHECK(w.store.unpublished_outbox(10).empty());
  CHECK(w.store.load(id)->status == "completed");
}

TEST_CASE("an attempt timer started by a confirm that waited still runs from the confirm") {
  World w;
  auto id = w.start();
  const auto confirmed_at = w.clock.now();
  w.clock.advance(30s - 1ms);  // the confirm's commit comes in this round, not its timer's end
  w.orchestrator->run_once(0ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.store.load(id)->status == "running");
  w.clock.advance(1ms);
  w.orchestrator->run_once(0ms);
  std::vector<HistoryRow> timed_out;
  for (auto& h : w.store.history(id)) {
    if (h.kind == "step_timed_out") timed_out.push_back(h);
  }
  REQUIRE(timed_out.size() == 1);
  CHECK(timed_out[0].at == confirmed_at + 30s);
}

TEST_CASE("confirms a round's worth take a commit at once") {
  FlowRegistry flows;
  flows.add(sagaflow::testing::load_test_flow(kFlow));
  MemoryStore store;
  FakeTransport transport;
  ManualClock clock;
  Orchestrator orchestrator(flows, store, transport, clock,
                            OrchestratorOptions{.max_batch = 4, .timer_poll = 0ms});
  for (int i = 0; i < 4; ++i) {
    (void)orchestrator.start(StartRequest{.flow = "payment", .input = json::object{}});
  }
  orchestrator.run_once(0ms);  // one commit of the four starts; their four commands confirmed
  REQUIRE(transport.published.size() == 4);
  const auto commits = store.commits();
  orchestrator.run_once(0ms);  // four confirms: max_batch of them, no waiting
  CHECK(store.commits() == commits + 1);
  CHECK(store.unpublished_outbox(10).empty());
}
