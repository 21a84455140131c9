// Two orchestrators sharing the sagas over RabbitMQ (tools/test-broker) and one store: each
// leases half the partitions and consumes their reply queues, outside events reach the saga
// whichever orchestrator takes them, and when one stops the other takes every partition over.
#include <future>
#include <memory>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "integration/rabbitmq/broker.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"
#include "support/partition_flows.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;

constexpr int kPartitions = 4;

void add_flow(FlowRegistry& flows, std::string_view yaml) {
  auto result = flow::load_flow_text(yaml, "test.yaml");
  for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
  REQUIRE(result.ok());
  flows.add(result.flow);
}

WorkerSettings worker_settings_for(const Topology& t) {
  WorkerSettings s;
  s.connection = connection();
  s.topology = t;
  s.service = "a";
  return s;
}

// One orchestrator process: its transport, and its rounds on a thread of their own.
class Process {
 public:
  Process(const FlowRegistry& flows, sagaflow::testing::MemoryStore& store, const Clock& clock,
          const Topology& t, const std::string& owner)
      : transport_(settings(t)),
        orchestrator_(flows, store, transport_, clock, options(t, store, owner)) {
    transport_.wait_connected(Duration(10000));
    orchestrator_.recover(false);
    thread_ = std::jthread([this](std::stop_token stop) { orchestrator_.run(stop); });
  }
  ~Process() { stop(); }

  // A clean shutdown: the last round ends, then the leases are released.
  void stop() {
    if (!thread_.joinable()) return;
    thread_.request_stop();
    thread_.join();
  }
  Orchestrator& orchestrator() { return orchestrator_; }
  std::size_t partitions() const { return orchestrator_.leases().size(); }

 private:
  static OrchestratorSettings settings(const Topology& t) {
    OrchestratorSettings s;
    s.connection = connection();
    s.topology = t;
    s.services = {"a"};
    s.event_types = {"delivered"};
    s.partitions = kPartitions;
    return s;
  }
  static OrchestratorOptions options(const Topology& t, sagaflow::testing::MemoryStore& store,
                                     const std::string& owner) {
    OrchestratorOptions o;
    o.engine.reply_to = t.reply_queue();
    o.leases = &store;
    o.owner = owner;
    o.partition_count = kPartitions;
    o.lease_ttl = Duration(2000);
    o.heartbeat_every = Duration(100);
    return o;
  }

  OrchestratorTransport transport_;
  Orchestrator orchestrator_;
  std::jthread thread_;
};

// Starts a saga, retrying while the orchestrator owns no partition yet.
std::string start(Orchestrator& o, StartRequest request) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    auto started = o.start(request);
    REQUIRE(started.wait_for(10s) == std::future_status::ready);
    try {
      return started.get().saga_id;
    } catch (const NotOwner&) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(50ms);
    }
  }
}

}  // namespace

TEST_CASE("two orchestrators over RabbitMQ share the sagas, one takes over when the other stops") {
  Scratch scratch("partitioned-orchestrators", {"a"}, kPartitions);
  const auto& t = scratch.topology();
  FlowRegistry flows;
  add_flow(flows, sagaflow::testing::kPay);
  add_flow(flows, sagaflow::testing::kParcel);
  SystemClock clock;
  sagaflow::testing::MemoryStore store(clock);

  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread handlers([&] { io.run(); });
  worker::Dispatcher dispatcher;
  for (const char* type : {"a.charge", "a.ship", "a.send"}) {
    dispatcher.on(type, [](const worker::Command&) { return worker::Result::ok(); });
  }
  {
    Worker worker(io, dispatcher, worker_settings_for(t));
    worker.wait_connected(Duration(10000));

    auto first = std::make_unique<Process>(flows, store, clock, t, "first");
    Process second(flows, store, clock, t, "second");
    REQUIRE(eventually([&] { return first->partitions() == 2 && second.partitions() == 2; }));

    // Sagas started on both run to the end, each on its own orchestrator.
    for (int n = 0; n < 10; ++n) {
      start(n % 2 == 0 ? first->orchestrator() : second.orchestrator(),
            StartRequest{.flow = "pay", .input = json::object{{"n", n}}});
    }
    // Waiting sagas get their outside event through whichever orchestrator takes it from the
    // shared queue (forwarded to the owner when that is the other one).
    for (int n = 100; n < 104; ++n) {
      start(n % 2 == 0 ? first->orchestrator() : second.orchestrator(),
            StartRequest{.flow = "parcel", .input = json::object{{"n", n}}});
    }
    REQUIRE(eventually([&] { return store.list(SagaFilter{.status = "waiting"}).size() == 4; }));
    for (int n = 100; n < 104; ++n) {
      Message delivered;
      delivered.kind = MessageKind::event;
      delivered.id = "delivered/" + std::to_string(n);
      delivered.type = "delivered";
      delivered.body = json::serialize(json::object{{"n", n}});
      worker.publish_event(delivered);
    }
    CHECK(eventually([&] { return store.list(SagaFilter{.status = "completed"}).size() == 14; }));

    // The first stops cleanly: the second takes its partitions at its next heartbeat, without
    // waiting for the ttl, and runs the new sagas of all of them.
    first->stop();
    CHECK(first->partitions() == 0);
    CHECK(eventually([&] { return second.partitions() == kPartitions; }, 1500ms));
    // One saga per partition, with ids chosen to land there.
    std::set<int> partitions;
    for (int n = 200; partitions.size() < kPartitions; ++n) {
      const auto id = "after-stop-" + std::to_string(n);
      if (!partitions.insert(partition_of(id, kPartitions)).second) continue;
      CHECK(start(second.orchestrator(),
                  StartRequest{.flow = "pay", .input = json::object{{"n", n}}, .saga_id = id}) ==
            id);
    }
    CHECK(eventually([&] { return store.list(SagaFilter{.status = "completed"}).size() == 18; }));
  }
  guard.reset();
  io.stop();
  handlers.join();
  CHECK(scratch.probe().ready(t.dead_letter_queue()) == 0);
}

}  // namespace sagaflow::rabbitmq
