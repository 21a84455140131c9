// Leases and timers never wait on the broker: while the transport takes messages and confirms
// none (a blocked or silent broker), or refuses them (down), the orchestrator's rounds go on:
// its leases are renewed and the flow's own deadlines fire on the clock. Leases renewed on
// their own thread outlive a round stuck inside the transport.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
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

constexpr int kPartitions = 4;

// A booking: a command, then a wait of one minute for the payment; the whole saga has a
// business deadline of five minutes.
constexpr std::string_view kBooking = R"(
name: booking
version: 1
timeout: 5m
input:
  n: integer
steps:
  - name: book
    command: { service: slots, name: book, input: {} }
    compensation: { service: slots, name: free, input: {} }
  - name: await_payment
    wait:
      events: [paid]
      correlate: $input.n
      key: $event.n
      timeout: 1m
)";

bool recorded(MemoryStore& store, const std::string& saga_id, std::string_view kind) {
  for (const auto& h : store.history(saga_id)) {
    if (h.kind == kind) return true;
  }
  return false;
}

// Counts the heartbeats that reach the store (the leases' own connection in production).
class CountingLeases final : public PartitionedStore {
 public:
  explicit CountingLeases(MemoryStore& store) : store_(store) {}
  std::vector<Lease> heartbeat(std::string_view owner, int count, Duration ttl) override {
    auto leases = store_.heartbeat(owner, count, ttl);
    ++heartbeats;
    return leases;
  }
  void release(std::string_view owner) override { store_.release(owner); }
  std::vector<SagaRow> load_unfinished_in(std::span<const int> p) override {
    return store_.load_unfinished_in(p);
  }
  std::vector<TimerRow> due_timers_in(Timestamp now, std::size_t limit,
                                      std::span<const int> p) override {
    return store_.due_timers_in(now, limit, p);
  }
  std::vector<OutboxRow> unpublished_outbox_in(std::size_t limit, std::span<const int> p) override {
    return store_.unpublished_outbox_in(limit, p);
  }
  std::atomic<int> heartbeats{0};

 private:
  MemoryStore& store_;
};

// A transport whose publishing itself hangs while `stuck` (a socket write that never returns),
// as a broker's flow control can make it.
class StuckTransport final : public Transport {
 public:
  void publish(std::span<const Message> messages) override {
    std::unique_lock lock(mutex_);
    inside = true;
    unstuck_.wait(lock, [&] { return !stuck; });
    inside = false;
    published += messages.size();
  }
  std::size_t receive(std::vector<Delivery>&, std::size_t, Duration wait) override {
    std::this_thread::sleep_for(wait);
    return 0;
  }
  void ack(std::span<const std::uint64_t>) override {}
  void dead_letter(const Delivery&, DeadLetterCode, std::string_view) override {}
  void unstick() {
    {
      std::lock_guard lock(mutex_);
      stuck = false;
    }
    unstuck_.notify_all();
  }
  bool is_inside() {
    std::lock_guard lock(mutex_);
    return inside;
  }
  bool stuck = true;
  bool inside = false;
  std::size_t published = 0;

 private:
  std::mutex mutex_;
  std::condition_variable unstuck_;
};

// Waits (real time, bounded) for a condition another thread makes true.
template <class Condition>
bool eventually(Condition condition) {
  for (int i = 0; i < 2000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

struct Booking {
  Booking() { flows.add(sagaflow::testing::load_test_flow(kBooking)); }

  OrchestratorOptions options() {
    return OrchestratorOptions{.timer_poll = 0ms,
                               .leases = &store,
                               .owner = "a",
                               .partition_count = kPartitions,
                               .lease_ttl = 5s,
                               .heartbeat_every = 1s};
  }
  // A booking whose command was answered: it waits for its payment, one minute.
  std::string waiting_for_payment(Orchestrator& orchestrator, FakeTransport& transport) {
    auto started =
        orchestrator.start(StartRequest{.flow = "booking", .input = json::object{{"n", 1}}});
    orchestrator.run_once(0ms);
    const auto id = started.get().saga_id;
    REQUIRE(transport.published.size() == 1);
    transport.deliver(worker::make_reply(transport.published[0], worker::Result::ok()));
    orchestrator.run_once(0ms);
    orchestrator.run_once(0ms);
    REQUIRE(store.load(id)->status == "waiting");
    return id;
  }

  FlowRegistry flows;
  ManualClock clock;
  MemoryStore store{clock};
};

}  // namespace

TEST_CASE("while the broker confirms nothing, leases are renewed and the flow's deadlines fire") {
  Booking b;
  FakeTransport transport;
  Orchestrator orchestrator(b.flows, b.store, transport, b.clock, b.options());
  orchestrator.recover(false);
  const auto leases_before = orchestrator.leases();
  REQUIRE(leases_before.size() == kPartitions);
  const auto waiting_id = b.waiting_for_payment(orchestrator, transport);

  // The broker stops confirming: the next saga's command is taken and never confirmed.
  transport.block_confirms = true;
  auto blocked =
      orchestrator.start(StartRequest{.flow = "booking", .input = json::object{{"n", 2}}});
  orchestrator.run_once(0ms);
  const auto blocked_id = blocked.get().saga_id;

  for (int second = 0; second < 6 * 60; ++second) {
    b.clock.advance(1s);
    orchestrator.run_once(0ms);  // returns: nothing waits for the confirm
  }
  CHECK(recorded(b.store, waiting_id, "wait_timed_out"));
  CHECK(recorded(b.store, blocked_id, "saga_timed_out"));
  CHECK_FALSE(recorded(b.store, blocked_id, "step_timed_out"));  // never confirmed: not timed
  // The leases were renewed all along: the same epochs, and another orchestrator finds none
  // free.
  CHECK(orchestrator.leases() == leases_before);
  CHECK(b.store.heartbeat("b", kPartitions, 5s).empty());
  b.store.release("b");

  // The broker confirms again: the command is held, the deadline's decision stands.
  transport.block_confirms = false;
  for (int i = 0; i < 3; ++i) orchestrator.run_once(0ms);
  CHECK(b.store.unpublished_outbox(10).empty());
  CHECK(b.store.load(blocked_id)->status == "compensating");
}

TEST_CASE("while the broker refuses everything, leases are renewed and a wait times out") {
  Booking b;
  FakeTransport transport;
  Orchestrator orchestrator(b.flows, b.store, transport, b.clock, b.options());
  orchestrator.recover(false);
  const auto leases_before = orchestrator.leases();
  const auto waiting_id = b.waiting_for_payment(orchestrator, transport);

  transport.fail_publish = true;
  for (int second = 0; second < 2 * 60; ++second) {
    b.clock.advance(1s);
    orchestrator.run_once(0ms);
  }
  CHECK(recorded(b.store, waiting_id, "wait_timed_out"));
  CHECK(b.store.load(waiting_id)->status == "compensating");
  CHECK_FALSE(b.store.unpublished_outbox(10).empty());  // the compensation waits to be sent
  CHECK(orchestrator.leases() == leases_before);
  CHECK(b.store.heartbeat("b", kPartitions, 5s).empty());
}

TEST_CASE("leases renewed on their own thread outlive a round stuck inside the transport") {
  Booking b;
  StuckTransport transport;
  CountingLeases lease_connection(b.store);
  auto options = b.options();
  options.lease_store = &lease_connection;
  options.renew_leases_on_own_thread = true;
  Orchestrator orchestrator(b.flows, b.store, transport, b.clock, options);
  orchestrator.recover(false);
  const auto leases_before = orchestrator.leases();
  REQUIRE(leases_before.size() == kPartitions);

  std::jthread running([&](std::stop_token stop) { orchestrator.run(stop); });
  auto started =
      orchestrator.start(StartRequest{.flow = "booking", .input = json::object{{"n", 1}}});
  REQUIRE(eventually([&] { return transport.is_inside(); }));  // the round hangs in publish

  // Twenty seconds pass, four times the leases' ttl: only the heartbeats' own thread can keep
  // them.
  for (int second = 0; second < 20; ++second) {
    const int before = lease_connection.heartbeats.load();
    b.clock.advance(1s);
    REQUIRE(eventually([&] { return lease_connection.heartbeats.load() > before; }));
  }
  CHECK(transport.is_inside());
  CHECK(b.store.heartbeat("b", kPartitions, 5s).empty());
  b.store.release("b");

  transport.unstick();
  CHECK(started.get().saga_id.size() == 32);
  running.request_stop();
  running.join();
  CHECK(transport.published == 1);
  CHECK(orchestrator.leases().empty());  // given up at the stop
}
