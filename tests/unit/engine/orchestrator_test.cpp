// The commit rule, checked on fakes: group commit, publish after commit, acknowledge after
// publish, and nothing lost when a commit or a publish fails.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/backoff_jitter.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::MemoryStore;

namespace {

constexpr std::string_view kTwoSteps = R"(
name: two
version: 1
input:
  n: integer
steps:
  - name: first
    command: { service: a, name: first, input: { n: $input.n } }
    compensation: { service: a, name: undo_first, input: {} }
  - name: second
    irreversible: true
    command: { service: b, name: second, input: {} }
  - name: await_confirmation
    wait:
      events: [confirmed]
      correlate: $input.n
      key: $event.n
      timeout: 1m
)";

Message reply_to(const Message& command) {
  return worker::make_reply(command, worker::Result::ok());
}

struct Fixture {
  Fixture() { flows.add(sagaflow::testing::load_test_flow(kTwoSteps)); }
  StartRequest request(int n) {
    return StartRequest{.flow = "two", .input = json::object{{"n", n}}};
  }
  // Starts a saga and answers both its commands: it then waits for `confirmed`.
  std::string start_and_reach_the_wait(int n) {
    auto started = orchestrator.start(request(n));
    orchestrator.run_once(std::chrono::milliseconds(0));
    auto id = started.get().saga_id;
    for (int step = 0; step < 2; ++step) {
      transport.deliver(reply_to(transport.published.back()));
      orchestrator.run_once(std::chrono::milliseconds(0));
    }
    return id;
  }
  FlowRegistry flows;
  MemoryStore store;
  FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  Orchestrator orchestrator{flows, store, transport, clock, OrchestratorOptions{.timer_poll = 0ms}};
};

}  // namespace

TEST_CASE("many sagas' transitions share one transaction") {
  Fixture f;
  std::vector<std::future<StartResult>> starts;
  for (int i = 0; i < 100; ++i) starts.push_back(f.orchestrator.start(f.request(i)));
  f.orchestrator.run_once(0ms);
  CHECK(f.store.commits() == 1);
  CHECK(f.transport.published.size() == 100);
  for (auto& s : starts) CHECK(s.get().created);

  for (const auto& m : std::vector<Message>(f.transport.published))
    f.transport.deliver(reply_to(m));
  f.orchestrator.run_once(0ms);
  CHECK(f.store.commits() == 2);
  CHECK(f.transport.acked.size() == 100);
  CHECK(f.transport.log == std::vector<std::string>{"publish", "publish", "ack"});
}

TEST_CASE("an input is acknowledged only after its change is committed") {
  Fixture f;
  auto started = f.orchestrator.start(f.request(1));
  f.orchestrator.run_once(0ms);
  auto id = started.get().saga_id;
  auto first = f.transport.published.at(0);
  f.transport.deliver(reply_to(first));

  f.store.fail_next_commit();
  f.orchestrator.run_once(0ms);
  CHECK(f.transport.acked.empty());
  CHECK(f.store.load(id)->version == 1);  // nothing of the round was written

  f.orchestrator.run_once(0ms);  // the same input, processed again from the stored state
  CHECK(f.transport.acked.size() == 1);
  CHECK(f.store.load(id)->version == 2);
  CHECK(f.transport.published.back().type == "b.second");
}

TEST_CASE("a failed publish leaves the rows in the outbox, and they are sent again") {
  Fixture f;
  f.transport.fail_publish = true;
  auto started = f.orchestrator.start(f.request(1));
  f.orchestrator.run_once(0ms);
  CHECK(started.get().created);  // committed: the saga exists even though nothing was sent
  CHECK(f.transport.published.empty());
  CHECK(f.store.unpublished_outbox(10).size() == 1);

  f.transport.fail_publish = false;
  f.orchestrator.run_once(0ms);
  REQUIRE(f.transport.published.size() == 1);
  CHECK(f.transport.published[0].type == "a.first");
  f.orchestrator.run_once(0ms);  // the next commit deletes the published row
  CHECK(f.store.unpublished_outbox(10).empty());
}

TEST_CASE("a restarted orchestrator publishes what was committed but never sent") {
  Fixture f;
  f.transport.fail_publish = true;
  f.orchestrator.start(f.request(1));
  f.orchestrator.run_once(0ms);
  f.transport.fail_publish = false;

  Orchestrator restarted(f.flows, f.store, f.transport, f.clock);
  restarted.recover(false);
  REQUIRE(f.transport.published.size() == 1);
  CHECK(f.transport.published[0].id.ends_with("/first/do/1"));
}

TEST_CASE("what cannot be processed is dead-lettered with its reason") {
  Fixture f;
  Message stray;
  stray.kind = MessageKind::reply;
  stray.id = "r1";
  stray.correlation_id = "nobody";
  f.transport.deliver(stray);
  Message unmatched;
  unmatched.kind = MessageKind::event;
  unmatched.id = "e1";
  unmatched.type = "confirmed";
  unmatched.body = R"({"n": 99})";
  f.transport.deliver(unmatched);
  Message command;
  command.kind = MessageKind::command;
  command.id = "c1";
  command.type = "points.reserve";
  f.transport.deliver(command);
  f.orchestrator.run_once(0ms);
  REQUIRE(f.transport.dead_letters.size() == 3);
  CHECK(f.transport.dead_letters[0].second == "reply for unknown saga 'nobody'");
  CHECK(f.transport.dead_letter_codes[0] == DeadLetterCode::unknown_saga);
  CHECK(f.transport.dead_letters[1].second == "no saga waits for event confirmed");
  CHECK(f.transport.dead_letter_codes[1] == DeadLetterCode::unmatched_event);
  CHECK(f.transport.dead_letters[2].second ==
        "the orchestrator takes replies and events, not commands");
  CHECK(f.transport.dead_letter_codes[2] == DeadLetterCode::wrong_kind);
  // The message itself, as it came.
  CHECK(f.transport.dead_letters[1].first.body == unmatched.body);
  CHECK(f.transport.dead_letters[2].first.type == "points.reserve");
}

TEST_CASE("an outside event reaches the saga waiting for its correlation value") {
  Fixture f;
  auto id = f.start_and_reach_the_wait(42);
  CHECK(f.store.load(id)->status == "waiting");

  Message confirmed;
  confirmed.kind = MessageKind::event;
  confirmed.id = "e1";
  confirmed.type = "confirmed";
  confirmed.body = R"({"n": 42})";
  f.transport.deliver(confirmed);
  f.orchestrator.run_once(0ms);
  CHECK(f.store.load(id)->status == "completed");
  CHECK(f.orchestrator.cached_sagas() == 0);  // finished sagas leave the cache
}

TEST_CASE("requests for unknown flows and sagas fail with a clear error") {
  Fixture f;
  auto unknown_flow = f.orchestrator.start(StartRequest{.flow = "nope"});
  auto unknown_saga = f.orchestrator.cancel("nope", "test");
  auto bad_input = f.orchestrator.start(StartRequest{.flow = "two", .input = json::object{}});
  f.orchestrator.run_once(0ms);
  CHECK_THROWS_WITH(unknown_flow.get(), doctest::Contains("unknown flow nope"));
  CHECK_THROWS_WITH(unknown_saga.get(), doctest::Contains("unknown saga nope"));
  CHECK_THROWS_AS(bad_input.get(), InvalidInput);
  CHECK(f.store.commits() == 0);
}

TEST_CASE("a wait times out through a persisted timer on the manual clock") {
  Fixture f;
  auto id = f.start_and_reach_the_wait(7);
  CHECK(f.store.load(id)->status == "waiting");
  f.clock.advance(59s);
  f.orchestrator.run_once(0ms);
  CHECK(f.store.load(id)->status == "waiting");
  f.clock.advance(2s);
  f.orchestrator.run_once(0ms);
  // Past `second` (irreversible) the compensation undoes `first`.
  CHECK(f.store.load(id)->status == "compensating");
  CHECK(f.transport.published.back().type == "a.undo_first");
}

TEST_CASE("a timer due in the same round as a reply that re-arms it does not fire early") {
  FlowRegistry flows;
  flows.add(sagaflow::testing::load_test_flow(R"(
name: flaky
version: 1
steps:
  - name: call
    irreversible: true
    retry: { max_attempts: 2, initial_delay: 10s }
    timeout: 5s
    command: { service: a, name: call, input: {} }
)"));
  MemoryStore store;
  FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  Orchestrator orchestrator(flows, store, transport, clock, OrchestratorOptions{.timer_poll = 0ms});
  auto started = orchestrator.start(StartRequest{.flow = "flaky", .input = json::object{}});
  orchestrator.run_once(0ms);
  REQUIRE(transport.published.size() == 1);
  orchestrator.run_once(0ms);  // the confirm's commit starts the attempt's timeout
  const auto backoff = jittered_backoff(10s, started.get().saga_id + "/call/do/2");

  // The attempt's timeout is due just as its technical error arrives: the reply schedules the
  // retry after the backoff under the same timer key, and the stale timeout must not cut that
  // short.
  clock.advance(5s);
  REQUIRE(store.due_timers(clock.now(), 10).size() == 1);
  transport.deliver(
      worker::make_reply(transport.published[0], worker::Result::technical_error("Busy")));
  orchestrator.run_once(0ms);
  CHECK(transport.published.size() == 1);
  clock.advance(backoff - 1ms);
  orchestrator.run_once(0ms);
  CHECK(transport.published.size() == 1);
  clock.advance(1ms);
  orchestrator.run_once(0ms);
  REQUIRE(transport.published.size() == 2);
  CHECK(transport.published[1].attempt == 2);
}

namespace {

constexpr std::string_view kTriggered = R"(
name: activation
version: 1
input:
  orderId: string
  certificateLines: array
trigger:
  event: All_SalesOrder
  when: $event.certificateLines != null
  key: $event.orderId
steps:
  - name: authorize
    irreversible: true
    command: { service: certificates, name: authorize, input: { order: $input.orderId } }
)";

Message sales_order(const std::string& event_id, json::value payload) {
  Message m;
  m.kind = MessageKind::event;
  m.id = event_id;
  m.type = "All_SalesOrder";
  m.body = json::serialize(payload);
  return m;
}

json::value order_with_lines(const std::string& order_id) {
  return json::object{{"orderId", order_id},
                      {"certificateLines", json::array{json::object{{"orderLineId", "l1"}}}}};
}

}  // namespace

TEST_CASE("a trigger event starts one saga per business key, however often it is published") {
  Fixture f;
  f.flows.add(sagaflow::testing::load_test_flow(kTriggered));
  f.transport.deliver(sales_order("e1", order_with_lines("o-1")));
  f.orchestrator.run_once(0ms);
  auto started = f.store.list(SagaFilter{.flow = "activation"});
  REQUIRE(started.size() == 1);
  CHECK(started[0].idempotency_key == "o-1");
  CHECK(json::parse(f.transport.published.back().body).at("order") == "o-1");
  CHECK(f.transport.acked.size() == 1);

  f.transport.deliver(sales_order("e1", order_with_lines("o-1")));  // redelivered
  f.transport.deliver(sales_order("e2", order_with_lines("o-1")));  // published again
  f.orchestrator.run_once(0ms);
  CHECK(f.store.list(SagaFilter{.flow = "activation"}).size() == 1);
  CHECK(f.transport.acked.size() == 3);
  CHECK(f.transport.dead_letters.empty());
}

TEST_CASE("a trigger event whose condition is false starts nothing and is acknowledged") {
  Fixture f;
  f.flows.add(sagaflow::testing::load_test_flow(kTriggered));
  f.transport.deliver(sales_order("e1", json::object{{"orderId", "o-2"}}));  // no certificates
  f.orchestrator.run_once(0ms);
  CHECK(f.store.list(SagaFilter{.flow = "activation"}).empty());
  CHECK(f.transport.acked.size() == 1);
  CHECK(f.transport.dead_letters.empty());
}

TEST_CASE("a trigger event that breaks the flow's input contract is dead-lettered with why") {
  Fixture f;
  f.flows.add(sagaflow::testing::load_test_flow(kTriggered));
  f.transport.deliver(sales_order("e1", json::object{{"orderId", 7}, {"certificateLines", 1}}));
  Message garbage = sales_order("e2", nullptr);
  garbage.body = "{not json";
  f.transport.deliver(garbage);
  f.orchestrator.run_once(0ms);
  CHECK(f.store.list(SagaFilter{.flow = "activation"}).empty());
  REQUIRE(f.transport.dead_letters.size() == 2);
  CHECK(f.transport.dead_letters[0].second.find(
            "input.orderId: expected a string, got the integer 7; input.certificateLines: "
            "expected an array, got the integer 1") != std::string::npos);
  CHECK(f.transport.dead_letter_codes[0] == DeadLetterCode::start_refused);
  CHECK(f.transport.dead_letters[1].second.find("not JSON") != std::string::npos);
  CHECK(f.transport.dead_letter_codes[1] == DeadLetterCode::not_json);
}

TEST_CASE("fault points mark commit, compensation, publish and acknowledgement in order") {
  FlowRegistry flows;
  flows.add(sagaflow::testing::load_test_flow(kTwoSteps));
  MemoryStore store;
  FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  std::vector<std::string> points;
  std::vector<std::pair<std::size_t, std::size_t>> seen;  // (commits, published) at each point
  OrchestratorOptions options{.timer_poll = 0ms};
  options.fault_point = [&](std::string_view point) {
    points.emplace_back(point);
    seen.emplace_back(store.commits(), transport.published.size());
  };
  Orchestrator orchestrator{flows, store, transport, clock, options};

  orchestrator.start(StartRequest{.flow = "two", .input = json::object{{"n", 1}}});
  orchestrator.run_once(0ms);
  CHECK(points == std::vector<std::string>{"before_commit", "after_commit", "after_publish"});
  // A crash before the commit leaves nothing; after it, a committed saga and nothing sent.
  CHECK(seen == std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}, {1, 0}, {1, 1}});

  // The second step fails: the round that sends the first step's compensation passes
  // mid_compensation before anything of it is published.
  transport.deliver(reply_to(transport.published.back()));
  orchestrator.run_once(0ms);
  points.clear();
  transport.deliver(
      worker::make_reply(transport.published.back(), worker::Result::business_failure("Refused")));
  orchestrator.run_once(0ms);
  CHECK(points == std::vector<std::string>{"before_commit", "after_commit", "mid_compensation",
                                           "after_publish"});
  CHECK(transport.published.back().type == "a.undo_first");
}
