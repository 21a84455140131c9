// Attempt time is the participant's time: an attempt's timeout starts when the transport
// confirms its command, so an outage of the broker delays a saga and never decides how it ends.
// The flow's own deadlines (the saga timeout, a wait's timeout) still run on the clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <string>
#include <vector>

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

// One attempt of 30 s per step, no retry: a timeout compensates at once.
constexpr std::string_view kSteps = R"(
steps:
  - name: reserve
    command: { service: points, name: reserve, input: {} }
    timeout: 30s
    compensation: { service: points, name: release, input: {} }
  - name: charge
    irreversible: true
    command: { service: billing, name: charge, input: {} }
    timeout: 30s
)";
const std::string kPayment = std::string("name: payment\nversion: 1\n") + std::string(kSteps);
// The same with a business deadline of one minute for the whole saga.
const std::string kPaymentWithDeadline =
    std::string("name: payment\nversion: 1\ntimeout: 1m\n") + std::string(kSteps);

struct World {
  explicit World(std::string_view flow) { flows.add(sagaflow::testing::load_test_flow(flow)); }

  std::string start() {
    auto started = orchestrator->start(StartRequest{.flow = "payment", .input = json::object{}});
    orchestrator->run_once(0ms);
    return started.get().saga_id;
  }

  // Lets `d` pass in steps of a second, with a round after each, as a running daemon would.
  void pass(Duration d) {
    for (Duration gone{0}; gone < d; gone += 1s) {
      clock.advance(std::min<Duration>(1s, d - gone));
      orchestrator->run_once(0ms);
    }
  }

  // Answers the last command published with success.
  void answer(std::string_view type) {
    auto it = std::find_if(transport.published.rbegin(), transport.published.rend(),
                           [&](const Message& m) { return m.type == type; });
    REQUIRE_MESSAGE(it != transport.published.rend(), "nothing of type " << type << " was sent");
    transport.deliver(worker::make_reply(*it, worker::Result::ok()));
    orchestrator->run_once(0ms);
    orchestrator->run_once(0ms);  // the confirms of what the reply caused start their timers
  }

  std::vector<HistoryRow> history_of(const std::string& id, std::string_view kind) {
    std::vector<HistoryRow> out;
    for (auto& h : store.history(id)) {
      if (h.kind == kind) out.push_back(std::move(h));
    }
    return out;
  }
  std::string status(const std::string& id) { return store.load(id).value().status; }

  FlowRegistry flows;
  MemoryStore store;
  FakeTransport transport;
  ManualClock clock;
  std::unique_ptr<Orchestrator> orchestrator = make_orchestrator();

  std::unique_ptr<Orchestrator> make_orchestrator() {
    return std::make_unique<Orchestrator>(flows, store, transport, clock,
                                          OrchestratorOptions{.timer_poll = 0ms});
  }
};

}  // namespace

TEST_CASE("a command the broker refuses for 10 minutes is not timed out, the saga completes") {
  World w(kPayment);
  w.transport.fail_publish = true;  // the broker is down
  auto id = w.start();
  w.pass(10min);
  CHECK(w.transport.published.empty());
  CHECK(w.store.unpublished_outbox(10).size() == 1);  // committed, waiting to be sent
  CHECK(w.history_of(id, "step_timed_out").empty());
  CHECK(w.status(id) == "running");

  w.transport.fail_publish = false;  // the broker is back
  w.orchestrator->run_once(0ms);
  REQUIRE(w.transport.published.size() == 1);
  w.answer("points.reserve");
  w.answer("billing.charge");
  CHECK(w.status(id) == "completed");
  CHECK(w.history_of(id, "step_timed_out").empty());
  CHECK(w.history_of(id, "compensation_sent").empty());
}

TEST_CASE("a command whose confirm is held back for 10 minutes is not timed out") {
  World w(kPayment);
  w.transport.hold_confirms = true;  // the broker takes messages but confirms none
  auto id = w.start();
  w.pass(10min);
  CHECK(w.history_of(id, "step_timed_out").empty());
  CHECK(w.status(id) == "running");
  CHECK(w.store.unpublished_outbox(10).size() == 1);

  w.transport.hold_confirms = false;
  w.orchestrator->run_once(0ms);
  w.answer("points.reserve");
  w.answer("billing.charge");
  CHECK(w.status(id) == "completed");
}

TEST_CASE("a confirmed command whose reply never comes times out exactly its timeout later") {
  World w(kPayment);
  w.transport.hold_confirms = true;
  auto id = w.start();
  w.pass(3min);
  w.transport.hold_confirms = false;
  w.orchestrator->run_once(0ms);  // the command goes out again and is confirmed now
  const auto confirmed_at = w.clock.now();
  REQUIRE(w.transport.published.size() == 1);
  w.orchestrator->run_once(0ms);  // the commit that deletes its outbox row starts its timer

  w.clock.set(confirmed_at + 30s - 1ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.history_of(id, "step_timed_out").empty());
  w.clock.advance(1ms);
  w.orchestrator->run_once(0ms);
  auto timed_out = w.history_of(id, "step_timed_out");
  REQUIRE(timed_out.size() == 1);
  CHECK(timed_out[0].at == confirmed_at + 30s);
  CHECK(timed_out[0].step == "reserve");
  CHECK(w.status(id) == "compensating");  // a timed-out attempt may have applied: release it
}

TEST_CASE("the saga's own timeout fires on the clock during an outage") {
  World w(kPaymentWithDeadline);
  w.transport.fail_publish = true;
  const auto started_at = w.clock.now();
  auto id = w.start();
  w.pass(59s);
  CHECK(w.history_of(id, "saga_timed_out").empty());
  w.pass(1s);
  auto timed_out = w.history_of(id, "saga_timed_out");
  REQUIRE(timed_out.size() == 1);
  CHECK(timed_out[0].at == started_at + 1min);
  CHECK(w.status(id) == "compensating");
  w.pass(10min);  // the command still out has not been sent: it does not time out either
  CHECK(w.history_of(id, "step_timed_out").empty());

  // The broker comes back: the command goes out, is applied, and the deadline's decision
  // stands: it is compensated.
  w.transport.fail_publish = false;
  w.orchestrator->run_once(0ms);
  w.answer("points.reserve");
  w.answer("points.release");
  CHECK(w.status(id) == "compensated");
}

TEST_CASE(
    "a reply that comes before its command's confirm counts, the late confirm starts nothing") {
  World w(kPayment);
  w.transport.hold_confirms = true;
  auto id = w.start();
  // The broker delivered the command and the participant answered; only the confirm is missing.
  const auto reserve = w.store.unpublished_outbox(10).at(0).message;
  w.transport.deliver(worker::make_reply(reserve, worker::Result::ok()));
  w.orchestrator->run_once(0ms);
  CHECK(w.history_of(id, "reply_received").size() == 1);

  w.transport.hold_confirms = false;
  w.pass(2s);  // both commands go out (again) and are confirmed
  const auto charge_sent = w.clock.now();
  // Only charge's timer runs: reserve was answered, its confirm found no timer to start.
  w.pass(1min);
  auto timed_out = w.history_of(id, "step_timed_out");
  REQUIRE(timed_out.size() == 1);
  CHECK(timed_out[0].step == "charge");
  CHECK(timed_out[0].at <= charge_sent + 30s);
}

TEST_CASE("a refused commit keeps the confirms: the timer starts from the first confirm") {
  World w(kPayment);
  auto id = w.start();  // committed, published and confirmed at once
  const auto confirmed_at = w.clock.now();
  w.clock.advance(10s);
  w.store.fail_next_commit();
  w.orchestrator->run_once(0ms);  // the commit that would start the timer fails
  CHECK(w.store.unpublished_outbox(10).size() == 1);
  w.orchestrator->run_once(0ms);  // done again
  CHECK(w.store.unpublished_outbox(10).empty());
  w.clock.set(confirmed_at + 30s - 1ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.history_of(id, "step_timed_out").empty());
  w.clock.advance(1ms);
  w.orchestrator->run_once(0ms);
  CHECK(w.history_of(id, "step_timed_out").size() == 1);
}

TEST_CASE("a crash between the confirm and its commit: the command goes again and starts then") {
  World w(kPayment);
  auto id = w.start();  // confirmed at once; the commit that starts the timer never happens
  w.orchestrator.reset();
  // Outbox row and timer not started are still there together: nothing is half done.
  REQUIRE(w.store.unpublished_outbox(10).size() == 1);
  CHECK(w.store.due_timers(kNotStarted - 1ms, 10).empty());

  w.clock.advance(5min);  // the orchestrator is down for a while
  w.orchestrator = w.make_orchestrator();
  w.orchestrator->recover(false);  // publishes the row again: confirmed now
  const auto confirmed_at = w.clock.now();
  REQUIRE(w.transport.published.size() == 2);
  CHECK(w.transport.published[1].id == w.transport.published[0].id);  // the same command
  w.orchestrator->run_once(0ms);
  CHECK(w.store.unpublished_outbox(10).empty());
  auto due = w.store.due_timers(confirmed_at + 30s, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].key == "step:reserve");
  CHECK(due[0].due == confirmed_at + 30s);
  w.answer("points.reserve");
  w.answer("billing.charge");
  CHECK(w.status(id) == "completed");
}

TEST_CASE("no attempt timer waits for a command that has left the outbox, whatever fails") {
  // The deletion of a published row and the start of its command's timer are one transaction:
  // a store never holds a timer waiting for a command no longer in the outbox, so no timer can
  // stay not started forever. Checked after every step of a seeded run of faults: the broker
  // down, confirms held back, commits refused, the orchestrator crashing and recovering.
  World w(kPayment);
  std::mt19937 random(20261202);
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(1, 100)(random) <= percent;
  };
  auto check_invariant = [&] {
    std::set<std::string> in_outbox;
    for (const auto& row : w.store.unpublished_outbox(10'000)) in_outbox.insert(row.message.id);
    for (const auto& timer : w.store.timers_not_started()) {
      CAPTURE(timer.saga_id);
      CAPTURE(timer.key);
      REQUIRE(in_outbox.contains(timer.started_by));
    }
  };

  // Started with the broker down: every first command waits in the outbox.
  w.transport.fail_publish = true;
  std::vector<std::future<StartResult>> starts;
  for (int i = 0; i < 40; ++i) {
    starts.push_back(
        w.orchestrator->start(StartRequest{.flow = "payment", .input = json::object{}}));
  }
  w.orchestrator->run_once(0ms);
  for (auto& s : starts) REQUIRE(s.get().created);
  check_invariant();
  // A second passes: the participants answer whatever reached them (duplicates too), and the
  // orchestrator runs a round.
  std::size_t answered = 0;  // commands in transport.published answered so far
  auto second_passes = [&] {
    for (; answered < w.transport.published.size(); ++answered) {
      const auto& m = w.transport.published[answered];
      if (m.kind == MessageKind::command) {
        w.transport.deliver(worker::make_reply(m, worker::Result::ok()));
      }
    }
    w.clock.advance(1s);
    w.orchestrator->run_once(0ms);
  };
  int crashes = 0;
  for (int step = 0; step < 400; ++step) {
    w.transport.fail_publish = chance(15);
    w.transport.hold_confirms = !w.transport.fail_publish && chance(20);
    if (chance(10)) w.store.fail_next_commit();
    second_passes();
    check_invariant();
    if (chance(5)) {
      w.orchestrator.reset();
      ++crashes;
      w.transport.redeliver_unacknowledged();
      w.orchestrator = w.make_orchestrator();
      w.orchestrator->recover(false);  // a publish that fails leaves the rows for later rounds
      check_invariant();
    }
  }
  CHECK(crashes > 0);

  // The faults stop: every saga completes, and none had an attempt time out.
  w.transport.fail_publish = false;
  w.transport.hold_confirms = false;
  for (int step = 0; step < 50; ++step) second_passes();
  check_invariant();
  CHECK(w.store.unpublished_outbox(10'000).empty());
  CHECK(w.store.timers_not_started().empty());
  auto sagas = w.store.list(SagaFilter{.limit = 1000});
  CHECK(sagas.size() == 40);
  for (const auto& saga : sagas) {
    CAPTURE(saga.id);
    CHECK(saga.status == "completed");
    CHECK(w.history_of(saga.id, "step_timed_out").empty());
  }
}
