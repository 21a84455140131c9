// Several orchestrators on one store, checked on fakes: partitions leased by heartbeat, each
// saga processed by its partition's owner only, a dead owner's partitions taken over with
// nothing lost, and a stale owner's writes refused.
#include <doctest/doctest.h>

#include <deque>
#include <map>
#include <memory>
#include <set>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"
#include "support/partition_flows.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::ManualClock;
using sagaflow::testing::MemoryStore;

namespace {

constexpr int kPartitions = 4;
constexpr std::string_view kReplyPrefix = "sagaflow.replies.";

StartRequest pay(int n) {
  return StartRequest{.flow = "pay", .input = json::object{{"n", n}}};
}

Message delivered(int n) {
  Message m;
  m.kind = MessageKind::event;
  m.id = "delivered/" + std::to_string(n);
  m.type = "delivered";
  m.body = json::serialize(json::object{{"n", n}});
  return m;
}

int partition(const std::string& saga_id) {
  return partition_of(saga_id, kPartitions);
}

// One orchestrator process: its transport, and its own view of the time (a paused process sees
// no time pass until it resumes).
struct Node {
  Node(const FlowRegistry& flows, MemoryStore& store, const std::string& owner, Timestamp now)
      : clock(now),
        orchestrator(
            flows, store, transport, clock,
            OrchestratorOptions{.timer_poll = 0ms,
                                .leases = &store,
                                .owner = owner,
                                .partition_count = kPartitions,
                                .on_leases_changed = [this](const std::vector<int>& lost,
                                                            const std::vector<Lease>& gained) {
                                  lease_changes.push_back({lost, gained});
                                }}) {}

  std::set<int> owned() const {
    std::set<int> out;
    for (const auto& l : orchestrator.leases()) out.insert(l.partition);
    return out;
  }
  std::uint64_t epoch(int p) const {
    for (const auto& l : orchestrator.leases()) {
      if (l.partition == p) return l.epoch;
    }
    return 0;
  }
  std::string start(StartRequest request) {
    auto started = orchestrator.start(std::move(request));
    orchestrator.run_once(0ms);
    return started.get().saga_id;
  }

  // What the orchestrator told its observer, change by change.
  struct LeaseChange {
    std::vector<int> lost;
    std::vector<Lease> gained;
  };
  std::vector<LeaseChange> lease_changes;
  FakeTransport transport;
  ManualClock clock;
  Orchestrator orchestrator;
  bool alive = true;
};

// A broker and the workers in miniature, over the nodes' FakeTransports. A queue per partition
// for replies and one for outside events; a message is delivered to a node that consumes its
// queue (the events queue: any node that owns a partition) and stays unacknowledged until that
// node acks it; the unacknowledged deliveries of a node that stops consuming their queue, or
// dies, go back to the queue. Workers answer every command with success, at once.
class Cluster {
 public:
  Cluster() {
    flows.add(sagaflow::testing::load_test_flow(sagaflow::testing::kPay));
    flows.add(sagaflow::testing::load_test_flow(sagaflow::testing::kParcel));
  }

  Node& add(const std::string& owner) {
    nodes_.push_back(std::make_unique<Node>(flows, store, owner, clock.now()));
    return *nodes_.back();
  }

  // Time passes for the store and for every live node.
  void advance(Duration d) {
    clock.advance(d);
    for (auto& n : nodes_) {
      if (n->alive) n->clock.advance(d);
    }
  }

  // Rounds of every live node, each followed by the broker's work, until nothing moves.
  void settle() {
    for (int i = 0; i < 100; ++i) {
      std::size_t processed = 0;
      for (auto& n : nodes_) {
        if (n->alive) processed += n->orchestrator.run_once(0ms);
      }
      if (!pump() && processed == 0) return;
    }
    FAIL("the cluster did not settle");
  }

  // The broker's turn: takes what the nodes published and acked, gives back what dead or
  // moved consumers held, and delivers. Returns whether anything moved.
  bool pump() {
    bool moved = false;
    for (auto& n : nodes_) {
      auto& seen = published_seen_[n.get()];
      for (; seen < n->transport.published.size(); ++seen, moved = true) {
        take(n->transport.published[seen]);
      }
      auto& acked = acked_seen_[n.get()];
      for (; acked < n->transport.acked.size(); ++acked) {
        const auto tag = n->transport.acked[acked];
        std::erase_if(in_flight_,
                      [&](const InFlight& f) { return f.node == n.get() && f.tag == tag; });
      }
    }
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->node->alive && consumes(*it->node, it->queue)) {
        ++it;
        continue;
      }
      queues_[it->queue].push_front(std::move(it->message));  // redelivered
      it = in_flight_.erase(it);
    }
    for (auto& [queue, messages] : queues_) {
      while (!messages.empty()) {
        Node* consumer = consumer_of(queue);
        if (consumer == nullptr) break;
        auto tag = consumer->transport.deliver(messages.front());
        in_flight_.push_back(InFlight{consumer, tag, queue, std::move(messages.front())});
        messages.pop_front();
        moved = true;
      }
    }
    return moved;
  }

  void publish_event(Message event) { queues_[kEvents].push_back(std::move(event)); }

  std::vector<SagaRow> sagas(const std::string& status) {
    return store.list(SagaFilter{.status = status, .limit = 1000});
  }

  FlowRegistry flows;
  ManualClock clock;
  MemoryStore store{clock};
  // Every command published, by id, and the ids published again with other contents.
  std::map<std::string, Message> commands;
  std::vector<std::string> changed_commands;
  std::size_t republished_commands = 0;

 private:
  static constexpr int kEvents = -1;
  struct InFlight {
    Node* node;
    std::uint64_t tag;
    int queue;
    Message message;
  };

  static int queue_of(const std::string& destination) {
    REQUIRE(destination.starts_with(kReplyPrefix));
    return std::stoi(destination.substr(kReplyPrefix.size()));
  }

  void take(const Message& m) {
    if (m.kind == MessageKind::command) {
      auto [it, inserted] = commands.emplace(m.id, m);
      if (!inserted) {
        ++republished_commands;
        const auto& first = it->second;
        if (first.type != m.type || first.body != m.body || first.destination != m.destination ||
            first.correlation_id != m.correlation_id || first.reply_to != m.reply_to ||
            first.idempotency_key != m.idempotency_key || first.attempt != m.attempt) {
          changed_commands.push_back(m.id);
        }
      }
      auto reply = worker::make_reply(m, worker::Result::ok());
      queues_[queue_of(reply.destination)].push_back(std::move(reply));
    } else if (!m.destination.empty()) {
      queues_[queue_of(m.destination)].push_back(m);  // forwarded to a partition
    }
  }

  static bool consumes(const Node& n, int queue) {
    const auto& consumed = n.transport.consumed;
    if (queue == kEvents) return !consumed.empty();
    return std::find(consumed.begin(), consumed.end(), queue) != consumed.end();
  }

  Node* consumer_of(int queue) {
    for (auto& n : nodes_) {
      if (n->alive && consumes(*n, queue)) return n.get();
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<Node>> nodes_;
  std::map<int, std::deque<Message>> queues_;
  std::vector<InFlight> in_flight_;
  std::map<Node*, std::size_t> published_seen_;
  std::map<Node*, std::size_t> acked_seen_;
};

// Two orchestrators that have split the partitions between them.
struct TwoNodes {
  TwoNodes() {
    a.orchestrator.run_once(0ms);  // alone: takes every partition
    b.orchestrator.run_once(0ms);  // joins: nothing is free yet
    cluster.advance(1s);           // next heartbeats: a gives half up, b takes it
    cluster.settle();
  }
  Cluster cluster;
  Node& a = cluster.add("a");
  Node& b = cluster.add("b");
};

}  // namespace

TEST_CASE("one orchestrator takes every partition and runs the sagas") {
  Cluster cluster;
  Node& a = cluster.add("a");
  a.orchestrator.run_once(0ms);
  CHECK(a.owned() == std::set<int>{0, 1, 2, 3});
  CHECK(a.transport.consumed == std::vector<int>{0, 1, 2, 3});

  std::vector<std::future<StartResult>> starts;
  for (int i = 0; i < 20; ++i) starts.push_back(a.orchestrator.start(pay(i)));
  cluster.settle();
  for (auto& s : starts) CHECK(s.get().created);
  CHECK(cluster.sagas("completed").size() == 20);
  for (const auto& [id, command] : cluster.commands) {
    // Each reply goes to its saga's partition.
    CHECK(command.reply_to ==
          std::string(kReplyPrefix) + std::to_string(partition(command.correlation_id)));
  }
  for (const auto& row : cluster.sagas("completed")) CHECK(row.partition == partition(row.id));
  CHECK(a.transport.dead_letters.empty());
}

TEST_CASE("a second orchestrator gets half the partitions, and each runs only its own sagas") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  REQUIRE(a.owned().size() == 2);
  REQUIRE(b.owned().size() == 2);
  std::set<int> all = a.owned();
  for (int p : b.owned()) all.insert(p);
  CHECK(all == std::set<int>{0, 1, 2, 3});
  for (int p : b.owned()) CHECK(b.epoch(p) == 2);  // a held them under epoch 1
  CHECK(std::set<int>(b.transport.consumed.begin(), b.transport.consumed.end()) == b.owned());

  std::vector<std::future<StartResult>> starts;
  for (int i = 0; i < 20; ++i) starts.push_back(a.orchestrator.start(pay(i)));
  for (int i = 20; i < 40; ++i) starts.push_back(b.orchestrator.start(pay(i)));
  cluster.settle();
  CHECK(cluster.sagas("completed").size() == 40);
  for (auto& s : starts) CHECK(s.get().created);

  // Every command a node sent, and every reply it took, is for a saga of its partitions; no
  // input had to be forwarded.
  for (Node* n : {&a, &b}) {
    for (const auto& m : n->transport.published) {
      CHECK(m.kind == MessageKind::command);
      CHECK(n->owned().contains(partition(m.correlation_id)));
    }
    CHECK(n->transport.acked.size() == 40);  // 20 sagas x 2 replies
    CHECK(n->transport.dead_letters.empty());
  }
}

TEST_CASE("each change of the leases is told to the observer: what was lost, what was gained") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  REQUIRE(a.lease_changes.size() == 2);
  CHECK(a.lease_changes[0].lost.empty());
  CHECK(a.lease_changes[0].gained ==
        std::vector<Lease>{{0, 1}, {1, 1}, {2, 1}, {3, 1}});  // alone: every partition
  CHECK(a.lease_changes[1].gained.empty());
  CHECK(std::set<int>(a.lease_changes[1].lost.begin(), a.lease_changes[1].lost.end()) == b.owned());
  REQUIRE(b.lease_changes.size() == 1);
  CHECK(b.lease_changes[0].lost.empty());
  for (const auto& lease : b.lease_changes[0].gained) {
    CHECK(b.owned().contains(lease.partition));
    CHECK(lease.epoch == 2);
  }
  CHECK(b.lease_changes[0].gained.size() == 2);

  b.orchestrator.release();  // a clean stop: everything lost at once
  REQUIRE(b.lease_changes.size() == 2);
  CHECK(b.lease_changes[1].lost.size() == 2);
  CHECK(b.lease_changes[1].gained.empty());
}

TEST_CASE("a dead orchestrator's partitions are taken over and every one of its sagas completes") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  const auto a_partitions = a.owned();
  std::map<int, std::uint64_t> a_epochs;
  for (int p : a_partitions) a_epochs[p] = a.epoch(p);

  // a sends its first commands...
  for (int i = 0; i < 10; ++i) a.orchestrator.start(pay(i));
  for (int i = 10; i < 20; ++i) b.orchestrator.start(pay(i));
  a.orchestrator.run_once(0ms);
  b.orchestrator.run_once(0ms);
  // ...then commits five new sagas whose commands it cannot publish...
  a.transport.fail_publish = true;
  for (int i = 20; i < 25; ++i) a.orchestrator.start(pay(i));
  a.orchestrator.run_once(0ms);
  const std::vector<int> a_list(a_partitions.begin(), a_partitions.end());
  CHECK(cluster.store.unpublished_outbox_in(100, a_list).size() == 5);
  // ...and dies with the replies to its first commands delivered but not processed.
  cluster.pump();
  CHECK(a.transport.published.size() == 10);
  CHECK(a.transport.acked.empty());
  a.alive = false;
  cluster.pump();  // its deliveries go back to their queues

  // b carries on alone; after the ttl it takes a's partitions under new epochs, publishes
  // what a committed, and processes the replies a never acknowledged.
  cluster.settle();
  CHECK(b.owned().size() == 2);
  cluster.advance(5s);
  cluster.settle();
  CHECK(b.owned() == std::set<int>{0, 1, 2, 3});
  for (int p : a_partitions) CHECK(b.epoch(p) == a_epochs[p] + 1);
  CHECK(cluster.sagas("completed").size() == 25);
  CHECK(cluster.store.unpublished_outbox(100).empty());
  CHECK(cluster.changed_commands.empty());  // no command id ever meant two things
  CHECK(b.transport.dead_letters.empty());
}

TEST_CASE("an owner that wakes up after its partitions were taken writes nothing") {
  Cluster cluster;
  Node& a = cluster.add("a");
  auto id = a.start(StartRequest{.flow = "parcel", .input = json::object{{"n", 7}}});
  cluster.settle();
  REQUIRE(cluster.store.load(id)->status == "waiting");
  const auto version = cluster.store.load(id)->version;
  const auto epoch = a.epoch(partition(id));

  // a pauses (its clock stands still); b takes every partition after the ttl.
  a.alive = false;
  cluster.advance(5s);
  Node& b = cluster.add("b");
  cluster.settle();
  REQUIRE(b.epoch(partition(id)) == epoch + 1);

  // a wakes up before its next heartbeat is due and cancels the saga it still holds.
  a.alive = true;
  const auto published = a.transport.published.size();
  auto cancelled = a.orchestrator.cancel(id, "operator");
  a.orchestrator.run_once(0ms);
  CHECK_THROWS_AS(cancelled.get(), StaleLease);
  CHECK(cluster.store.load(id)->status == "waiting");
  CHECK(cluster.store.load(id)->version == version);
  CHECK(cluster.store.unpublished_outbox(100).empty());
  CHECK(a.transport.published.size() == published);
  // It let the partition go at once, and the next round asks the store what it still has.
  CHECK_FALSE(a.owned().contains(partition(id)));
  a.orchestrator.run_once(0ms);
  CHECK(a.owned().empty());  // b's leases are alive: nothing is free for a yet
  CHECK(a.transport.consumed.empty());
  auto refused = a.orchestrator.cancel(id, "operator");
  a.orchestrator.run_once(0ms);
  CHECK_THROWS_AS(refused.get(), NotOwner);

  // The owner cancels it.
  auto by_owner = b.orchestrator.cancel(id, "operator");
  b.orchestrator.run_once(0ms);
  CHECK_NOTHROW(by_owner.get());
  CHECK(cluster.store.load(id)->status != "waiting");
}

TEST_CASE("starts get ids in owned partitions, operator requests go to the owner") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  for (int i = 0; i < 40; ++i) CHECK(a.owned().contains(partition(a.start(pay(i)))));

  // An id chosen by the caller in b's partition is refused by a, as is a request for b's saga.
  std::string b_saga = b.start(pay(100));
  std::string in_b = "caller-0";
  for (int n = 1; !b.owned().contains(partition(in_b)); ++n) in_b = "caller-" + std::to_string(n);
  auto request = pay(101);
  request.saga_id = in_b;
  auto refused_start = a.orchestrator.start(request);
  auto refused_cancel = a.orchestrator.cancel(b_saga, "operator");
  auto unknown = a.orchestrator.retry(in_b);
  a.orchestrator.run_once(0ms);
  CHECK_THROWS_AS(refused_start.get(), NotOwner);
  try {
    refused_cancel.get();
    FAIL("a cancelled a saga of b's partition");
  } catch (const NotOwner& e) {
    CHECK(e.partition == partition(b_saga));
  }
  CHECK_THROWS_WITH(unknown.get(), doctest::Contains("unknown saga"));

  // A third orchestrator owns nothing until the others give partitions up: it refuses starts.
  Node& c = cluster.add("c");
  auto early = c.orchestrator.start(pay(200));
  c.orchestrator.run_once(0ms);
  CHECK(c.owned().empty());
  CHECK_THROWS_AS(early.get(), NotOwner);
}

TEST_CASE("an input for a saga of another partition is forwarded to that partition's queue") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  auto id = b.start(StartRequest{.flow = "parcel", .input = json::object{{"n", 42}}});
  cluster.settle();
  REQUIRE(cluster.store.load(id)->status == "waiting");
  const auto queue = std::string(kReplyPrefix) + std::to_string(partition(id));

  // The shared events queue hands b's event to a: a sends it on, then acknowledges it.
  const auto commits = cluster.store.commits();
  a.transport.deliver(delivered(42));
  a.orchestrator.run_once(0ms);
  REQUIRE(a.transport.published.size() == 1);
  const auto& forwarded = a.transport.published[0];
  CHECK(forwarded.kind == MessageKind::event);
  CHECK(forwarded.destination == queue);
  CHECK(forwarded.id == "delivered/42");
  CHECK(forwarded.body == delivered(42).body);
  CHECK(a.transport.log == std::vector<std::string>{"publish", "ack"});
  CHECK(cluster.store.commits() == commits);  // a changed nothing
  CHECK(cluster.store.load(id)->status == "waiting");

  // b takes it from its partition's queue like any event.
  cluster.settle();
  CHECK(cluster.store.load(id)->status == "completed");
  CHECK(a.transport.dead_letters.empty());
  CHECK(b.transport.dead_letters.empty());
}

TEST_CASE("events reach the waiting saga through whichever orchestrator takes them") {
  TwoNodes t;
  auto& [cluster, a, b] = t;
  std::vector<std::string> ids;
  for (int n = 0; n < 10; ++n) {
    auto& owner = n % 2 == 0 ? a : b;
    ids.push_back(owner.start(StartRequest{.flow = "parcel", .input = json::object{{"n", n}}}));
  }
  cluster.settle();
  for (int n = 0; n < 10; ++n) cluster.publish_event(delivered(n));
  cluster.settle();
  CHECK(cluster.sagas("completed").size() == 10);
}
