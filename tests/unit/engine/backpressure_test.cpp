// Backpressure instead of queues: at most max_in_flight_per_service commands of a service are
// out at once; the others wait in the store's outbox, in order, run no attempt timer, and go as
// answers free slots, also after a restart.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::ManualClock;
using sagaflow::testing::MemoryStore;

namespace {

// Reserve stock, then charge; a charge of an odd amount is refused, so that saga compensates.
constexpr std::string_view kOrder = R"(
name: order
version: 1
input:
  n: integer
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: { n: $input.n } }
    timeout: 30s
    compensation: { service: stock, name: release, input: {} }
  - name: charge
    irreversible: true
    command: { service: billing, name: charge, input: { n: $input.n } }
    timeout: 30s
)";

struct Shop {
  explicit Shop(std::size_t limit) : limit(limit) {
    flows.add(sagaflow::testing::load_test_flow(kOrder));
  }

  std::unique_ptr<Orchestrator> make_orchestrator() {
    return std::make_unique<Orchestrator>(
        flows, store, transport, clock,
        OrchestratorOptions{.timer_poll = 0ms, .max_in_flight_per_service = limit});
  }

  std::vector<std::string> start(int count) {
    std::vector<std::future<StartResult>> started;
    for (int n = 0; n < count; ++n) {
      started.push_back(
          orchestrator->start(StartRequest{.flow = "order", .input = json::object{{"n", n}}}));
    }
    orchestrator->run_once(0ms);
    orchestrator->run_once(0ms);  // the commit that learns the confirms of what went out
    std::vector<std::string> ids;
    for (auto& s : started) ids.push_back(s.get().saga_id);
    return ids;
  }

  // The commands sent and not answered yet, per service.
  std::map<std::string, int> outstanding() const {
    std::map<std::string, int> out;
    for (std::size_t i = answered; i < transport.published.size(); ++i) {
      const auto& m = transport.published[i];
      if (m.kind == MessageKind::command) ++out[m.destination];
    }
    return out;
  }

  // Answers every command sent so far as the participants would (an odd charge is refused),
  // then runs a round.
  void answer_all() {
    for (; answered < transport.published.size(); ++answered) {
      const auto& m = transport.published[answered];
      if (m.kind != MessageKind::command) continue;
      const bool refused =
          m.type == "billing.charge" && json::parse(m.body).as_object().at("n").as_int64() % 2 == 1;
      transport.deliver(worker::make_reply(
          m, refused ? worker::Result::business_failure("odd") : worker::Result::ok()));
    }
    orchestrator->run_once(0ms);
  }

  std::size_t steps_timed_out() {
    std::size_t n = 0;
    for (const auto& saga : store.list(SagaFilter{.limit = 1000})) {
      for (const auto& h : store.history(saga.id)) n += h.kind == "step_timed_out";
    }
    return n;
  }

  std::size_t limit;
  FlowRegistry flows;
  ManualClock clock;
  MemoryStore store;
  FakeTransport transport;
  std::size_t answered = 0;  // transport.published[0, answered) are answered
  std::unique_ptr<Orchestrator> orchestrator = make_orchestrator();
};

// The saga of each command of `type`, in the order they were sent (first sends only).
std::vector<std::string> sent_order(const FakeTransport& transport, std::string_view type) {
  std::vector<std::string> order;
  for (const auto& m : transport.published) {
    if (m.type == type && std::find(order.begin(), order.end(), m.correlation_id) == order.end()) {
      order.push_back(m.correlation_id);
    }
  }
  return order;
}

}  // namespace

TEST_CASE("limit 2, 20 sagas: never more than 2 commands of a service out, in order, all end") {
  Shop shop(2);
  const auto ids = shop.start(20);
  REQUIRE(shop.outstanding()["stock"] == 2);
  auto loads = shop.orchestrator->service_loads();
  REQUIRE(loads.size() == 1);
  CHECK(loads[0] == ServiceLoad{.service = "stock", .in_flight = 2, .waiting = 18});
  CHECK(shop.store.unpublished_outbox(100).size() == 18);  // the backlog is in the store

  for (int round = 0; round < 200; ++round) {
    shop.answer_all();
    for (const auto& [service, count] : shop.outstanding()) {
      CAPTURE(service);
      REQUIRE(count <= 2);
    }
  }
  CHECK(sent_order(shop.transport, "stock.reserve") == ids);  // first come, first sent
  for (int n = 0; n < 20; ++n) {
    CAPTURE(n);
    CHECK(shop.store.load(ids[n])->status == (n % 2 == 1 ? "compensated" : "completed"));
  }
  CHECK(shop.store.unpublished_outbox(100).empty());
  for (const auto& load : shop.orchestrator->service_loads()) {
    CHECK(load.in_flight == 0);
    CHECK(load.waiting == 0);
  }
}

TEST_CASE("a command waiting for a slot runs no attempt timer") {
  Shop shop(2);
  shop.start(5);
  CHECK(shop.store.timers_not_started().size() == 3);  // the 2 sent run, from their confirm

  shop.clock.advance(20s);
  shop.orchestrator->run_once(0ms);
  auto loads = shop.orchestrator->service_loads();
  REQUIRE(loads.size() == 1);
  CHECK(loads[0].oldest_waiting_age == 20s);

  // The two sent time out at 30 s; the three waiting have run no time: none of them times out
  // even a minute later, until it is sent.
  shop.clock.advance(10s);
  shop.orchestrator->run_once(0ms);
  CHECK(shop.steps_timed_out() == 2);
  shop.orchestrator->run_once(0ms);
  // Their compensations wait behind the three; the first two of those are sent now.
  CHECK(shop.outstanding()["stock"] <= 4);  // 2 timed out (unanswered) + 2 sent now
  shop.clock.advance(29s);
  shop.orchestrator->run_once(0ms);
  CHECK(shop.steps_timed_out() == 2);
}

TEST_CASE("a restart with a backlog: the waiting commands are still there and go in order") {
  Shop shop(2);
  const auto ids = shop.start(10);
  REQUIRE(shop.outstanding()["stock"] == 2);

  shop.orchestrator.reset();  // a crash
  shop.transport.redeliver_unacknowledged();
  shop.orchestrator = shop.make_orchestrator();
  shop.orchestrator->recover(false);
  shop.orchestrator->run_once(0ms);
  // The in-flight count is rebuilt from the store: nothing more went out.
  CHECK(shop.outstanding()["stock"] == 2);
  auto loads = shop.orchestrator->service_loads();
  REQUIRE(loads.size() == 1);
  CHECK(loads[0].in_flight == 2);
  CHECK(loads[0].waiting == 8);

  for (int round = 0; round < 100; ++round) {
    shop.answer_all();
    for (const auto& [service, count] : shop.outstanding()) REQUIRE(count <= 2);
  }
  CHECK(sent_order(shop.transport, "stock.reserve") == ids);
  for (int n = 0; n < 10; ++n) {
    CHECK(shop.store.load(ids[n])->status == (n % 2 == 1 ? "compensated" : "completed"));
  }
}
