// Sub-flows: a subflow step starts a child saga in the same commit as the parent's step, the
// child's end reaches the parent in the same commit as that end, and compensating the parent
// compensates a completed child. On the real orchestrator over the in-memory store and a fake
// transport, with a manual clock.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::MemoryStore;

namespace {

constexpr std::string_view kChild = R"(
name: pay
version: 1
input:
  amount: integer
steps:
  - name: hold
    command: { service: bank, name: hold, input: { amount: $input.amount } }
    compensation: { service: bank, name: release, input: { hold: $steps.hold.id } }
  - name: capture
    command: { service: bank, name: capture, input: { hold: $steps.hold.id } }
    compensation: { service: bank, name: refund, input: { hold: $steps.hold.id } }
)";

constexpr std::string_view kParent = R"(
name: order
version: 1
input:
  amount: integer
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: {} }
    compensation: { service: stock, name: unreserve, input: {} }
  - name: payment
    subflow:
      flow: pay
      input: { amount: $input.amount }
    output:
      hold: $reply.hold.id
  - name: ship
    command: { service: stock, name: ship, input: { hold: $steps.payment.hold } }
    compensation: { service: stock, name: unship, input: {} }
)";

Message reply(const Message& command, ReplyOutcome outcome = ReplyOutcome::success,
              json::value payload = json::object{}, std::string code = {}) {
  return worker::make_reply(command, worker::Result{outcome, std::move(code), std::move(payload)});
}

struct Fixture {
  Fixture() {
    flows.add(sagaflow::testing::load_test_flow(kChild));
    flows.add(sagaflow::testing::load_test_flow(kParent));
    make();
  }
  void make() {
    orchestrator.reset();
    orchestrator = std::make_unique<Orchestrator>(flows, store, transport, clock,
                                                  OrchestratorOptions{.timer_poll = 0ms});
  }
  // A restarted orchestrator: nothing in memory survives, the store does.
  void restart() {
    make();
    orchestrator->recover(false);
  }
  void round() { orchestrator->run_once(0ms); }
  Message last(std::string_view type) {
    for (auto it = transport.published.rbegin(); it != transport.published.rend(); ++it) {
      if (it->type == type) return *it;
    }
    FAIL("nothing of type " << type << " was published");
    return {};
  }
  void answer(std::string_view type, ReplyOutcome outcome = ReplyOutcome::success,
              json::value payload = json::object{}, std::string code = {}) {
    transport.deliver(reply(last(type), outcome, std::move(payload), std::move(code)));
    round();
  }
  std::string status(const std::string& id) { return store.load(id).value().status; }
  json::value state(const std::string& id) { return json::parse(store.load(id).value().state); }
  std::vector<std::string> history_kinds(const std::string& id) {
    std::vector<std::string> kinds;
    for (const auto& h : store.history(id)) kinds.push_back(h.kind);
    return kinds;
  }
  std::size_t sagas_of(std::string_view flow) {
    return store.list(SagaFilter{.flow = std::string(flow)}).size();
  }
  std::string start(int amount = 7) {
    auto started = orchestrator->start(
        StartRequest{.flow = "order", .input = json::object{{"amount", amount}}});
    round();
    return started.get().saga_id;
  }
  std::string child_of(const std::string& parent) {
    return std::string(state(parent).at("children").at("payment").as_string());
  }

  FlowRegistry flows;
  MemoryStore store;
  FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  std::unique_ptr<Orchestrator> orchestrator;
};

bool contains(const std::vector<std::string>& kinds, std::string_view kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace

TEST_CASE("a child's id is derived from its parent and step, in the parent's partition") {
  const auto a = child_saga_id("parent-1", "payment", 16);
  CHECK(a == child_saga_id("parent-1", "payment", 16));
  CHECK(a.starts_with("parent-1.payment~"));
  CHECK(partition_of(a, 16) == partition_of("parent-1", 16));
  CHECK(child_saga_id("parent-1", "other", 16) != a);
  CHECK(child_saga_id("p", "s[2]", 0) == "p.s[2]");
}

TEST_CASE("a single orchestrator starts every child in its parent's partition, whatever the id") {
  // Without leases no partition is owned, but the ids still keep parent and child together,
  // so the store can move to several orchestrators while parents wait on their children.
  Fixture f;
  int moved_without_suffix = 0;
  for (int n = 0; n < 32; ++n) {
    const auto id = "parent-" + std::to_string(n);
    f.orchestrator->start(
        StartRequest{.flow = "order", .input = json::object{{"amount", 7}}, .saga_id = id});
    f.round();
    f.answer("stock.reserve");
    const auto child = f.child_of(id);
    CHECK(child.starts_with(id + ".payment~"));
    CHECK(partition_of(child, 16) == partition_of(id, 16));
    if (partition_of(id + ".payment", 16) != partition_of(id, 16)) ++moved_without_suffix;
  }
  // The ids above are ones where the plain "<parent>.<step>" would have left the partition.
  CHECK(moved_without_suffix > 0);
}

TEST_CASE("a subflow step starts its child in the commit of the step, and ends with the child") {
  Fixture f;
  const auto id = f.start();
  f.answer("stock.reserve");
  const auto child = f.child_of(id);
  // One commit held both: the parent waiting on the step and the child already started.
  CHECK(f.status(id) == "running");
  CHECK(f.status(child) == "running");
  CHECK(partition_of(child, 16) == partition_of(id, 16));
  const auto child_state = f.state(child);
  CHECK(child_state.at("parent").at("id").as_string() == id);
  CHECK(child_state.at("parent").at("step").as_string() == "payment");
  CHECK(f.last("bank.hold").body == R"({"amount":7})");
  CHECK(f.store.load(child)->flow_version == 1);

  f.answer("bank.hold", ReplyOutcome::success, json::object{{"id", "h1"}});
  CHECK(f.status(id) == "running");
  f.answer("bank.capture");
  CHECK(f.status(child) == "completed");
  // The child's end reached the parent in the same commit: its next step is out already.
  CHECK(f.last("stock.ship").body == R"({"hold":"h1"})");
  CHECK(step_result(*f.store.load(id), "payment") == json::value(json::object{{"hold", "h1"}}));
  f.answer("stock.ship");
  CHECK(f.status(id) == "completed");
  CHECK(f.sagas_of("pay") == 1);
  CHECK(contains(f.history_kinds(child), "parent_answered"));
}

TEST_CASE("a child's failure fails the parent's step, and the parent compensates") {
  Fixture f;
  const auto id = f.start();
  f.answer("stock.reserve");
  const auto child = f.child_of(id);
  f.answer("bank.hold", ReplyOutcome::success, json::object{{"id", "h1"}});
  f.answer("bank.capture", ReplyOutcome::business_failure, json::object{}, "Declined");
  f.answer("bank.release");
  CHECK(f.status(child) == "compensated");
  CHECK(f.status(id) == "compensating");
  f.answer("stock.unreserve");
  CHECK(f.status(id) == "compensated");
  // The child undid itself: the parent sends it nothing more.
  CHECK(f.history_kinds(child).back() == "parent_answered");
}

TEST_CASE("compensating the parent compensates a completed child, in the child's reverse order") {
  Fixture f;
  const auto id = f.start();
  f.answer("stock.reserve");
  const auto child = f.child_of(id);
  f.answer("bank.hold", ReplyOutcome::success, json::object{{"id", "h1"}});
  f.answer("bank.capture");
  REQUIRE(f.status(child) == "completed");
  f.answer("stock.ship", ReplyOutcome::business_failure, json::object{}, "NoStock");
  // The failed ship has nothing to undo; the child is next, and it undoes itself backwards.
  CHECK(f.status(child) == "compensating");
  CHECK(f.status(id) == "compensating");
  CHECK(f.last("bank.refund").body == R"({"hold":"h1"})");
  f.answer("bank.refund");
  CHECK(f.last("bank.release").body == R"({"hold":"h1"})");
  CHECK(f.transport.published.back().type == "bank.release");
  f.answer("bank.release");
  CHECK(f.status(child) == "compensated");
  // The child's end completed the parent's compensation of the step: the next one is out.
  CHECK(f.transport.published.back().type == "stock.unreserve");
  f.answer("stock.unreserve");
  CHECK(f.status(id) == "compensated");
}

TEST_CASE("cancelling the parent while its child runs cancels the child first") {
  Fixture f;
  const auto id = f.start();
  f.answer("stock.reserve");
  const auto child = f.child_of(id);
  f.answer("bank.hold", ReplyOutcome::success, json::object{{"id", "h1"}});
  auto cancelled = f.orchestrator->cancel(id, "customer left");
  f.round();
  cancelled.get();
  CHECK(f.status(child) == "compensating");
  f.answer("bank.capture");  // the capture that was out: undone too
  f.answer("bank.refund");
  f.answer("bank.release");
  CHECK(f.status(child) == "cancelled");
  CHECK(f.transport.published.back().type == "stock.unreserve");
  f.answer("stock.unreserve");
  CHECK(f.status(id) == "cancelled");
}

TEST_CASE("a restart between the parent's step and the child's end loses neither") {
  Fixture f;
  const auto id = f.start();
  f.answer("stock.reserve");
  const auto child = f.child_of(id);
  f.restart();
  f.answer("bank.hold", ReplyOutcome::success, json::object{{"id", "h1"}});
  f.restart();
  f.answer("bank.capture");
  CHECK(f.status(child) == "completed");
  CHECK(f.last("stock.ship").body == R"({"hold":"h1"})");
  f.answer("stock.ship");
  CHECK(f.status(id) == "completed");
  CHECK(f.sagas_of("pay") == 1);
}

TEST_CASE("retrying the parent's step finds its child: never two children") {
  // A pivot before the sub-flow parks the parent when the child fails; the operator's retry
  // runs the step again, and the same child answers it.
  constexpr std::string_view parked = R"(
name: order_pivot
version: 1
steps:
  - name: charge
    pivot: true
    command: { service: stock, name: charge, input: {} }
    compensation: { service: stock, name: refund_charge, input: {} }
  - name: payment
    subflow: { flow: pay, input: { amount: 3 } }
)";
  Fixture f;
  f.flows.add(sagaflow::testing::load_test_flow(parked));
  auto started =
      f.orchestrator->start(StartRequest{.flow = "order_pivot", .input = json::object{}});
  f.round();
  const auto id = started.get().saga_id;
  f.answer("stock.charge");
  f.answer("bank.hold", ReplyOutcome::business_failure, json::object{}, "Declined");
  CHECK(f.status(id) == "failed");
  auto retried = f.orchestrator->retry(id);
  f.round();
  retried.get();
  CHECK(f.sagas_of("pay") == 1);
  // The child ended compensated: it answers the retried step at once, which fails again.
  CHECK(f.status(id) == "failed");
  CHECK(contains(f.history_kinds(std::string(f.state(id).at("children").at("payment").as_string())),
                 "parent_retried"));
}

TEST_CASE("a child whose input its flow refuses fails the step") {
  constexpr std::string_view bad = R"(
name: order_bad
version: 1
steps:
  - name: payment
    subflow: { flow: pay, input: { amount: "many" } }
)";
  Fixture f;
  f.flows.add(sagaflow::testing::load_test_flow(bad));
  auto started = f.orchestrator->start(StartRequest{.flow = "order_bad", .input = json::object{}});
  f.round();
  const auto id = started.get().saga_id;
  CHECK(f.status(id) == "compensated");
  CHECK(f.sagas_of("pay") == 0);
}
