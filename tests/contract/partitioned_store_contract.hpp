#pragma once
// The PartitionedStore contract: leases, fencing and the per-partition queries that several
// orchestrators on one store rely on (ports.hpp), as doctest template test cases. A test file
// includes this header once and instantiates the suite for its factories:
//
//   struct MyFactory {
//     // One fresh, empty store whose lease times come from `clock` (the suite moves it).
//     std::unique_ptr<MyStore> make(const sagaflow::Clock& clock);
//   };
//   TYPE_TO_STRING(MyFactory);
//   SAGAFLOW_PARTITIONED_STORE_CONTRACT(MyFactory, OtherFactory);
//
// MyStore is both a Store and a PartitionedStore. Each test case default-constructs a factory
// and calls make() once; the factory is destroyed after the store.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "contract/store_contract.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/testing/manual_clock.hpp"

namespace sagaflow::contract {

inline constexpr int kPartitions = 16;
inline constexpr Duration kTtl{5000};

inline std::vector<int> partitions_of(const std::vector<Lease>& leases) {
  std::vector<int> out;
  for (const Lease& l : leases) out.push_back(l.partition);
  return out;
}

inline std::map<int, std::uint64_t> epochs_of(const std::vector<Lease>& leases) {
  std::map<int, std::uint64_t> out;
  for (const Lease& l : leases) out[l.partition] = l.epoch;
  return out;
}

inline std::vector<int> all_partitions() {
  std::vector<int> out;
  for (int p = 0; p < kPartitions; ++p) out.push_back(p);
  return out;
}

// A saga id that lands in `partition` (of kPartitions): "<prefix>-<n>" for the first n that does.
inline std::string id_in(int partition, const std::string& prefix = "s") {
  for (int n = 0;; ++n) {
    auto id = prefix + "-" + std::to_string(n);
    if (partition_of(id, kPartitions) == partition) return id;
  }
}

// A write creating `row` under the given lease epoch.
inline SagaWrite create_under(SagaRow row, std::uint64_t epoch) {
  SagaWrite w = create(std::move(row));
  w.lease_epoch = epoch;
  return w;
}

}  // namespace sagaflow::contract

// ---------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("partitioned store contract: a lone owner takes every partition", F,
                          partitioned_contract_lone_owner) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);

  auto first = store->heartbeat("a", kPartitions, kTtl);
  CHECK(partitions_of(first) == all_partitions());  // by partition
  for (const Lease& l : first) CHECK(l.epoch >= 1);

  // Renewing changes nothing, not even long after, as long as the owner keeps its heartbeats.
  for (int i = 0; i < 10; ++i) {
    clock.advance(kTtl - Duration{1});
    CHECK(store->heartbeat("a", kPartitions, kTtl) == first);
  }
}

TEST_CASE_TEMPLATE_DEFINE("partitioned store contract: owners that join get a fair share", F,
                          partitioned_contract_fair_share) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);
  const auto first = epochs_of(store->heartbeat("a", kPartitions, kTtl));

  // b joins: it takes nothing that a holds, until a gives its extras up at its next heartbeat.
  CHECK(store->heartbeat("b", kPartitions, kTtl).empty());
  clock.advance(Duration{1000});
  auto a = store->heartbeat("a", kPartitions, kTtl);
  CHECK(a.size() == kPartitions / 2);
  auto b = store->heartbeat("b", kPartitions, kTtl);
  CHECK(b.size() == kPartitions / 2);
  std::set<int> together;
  for (const auto& leases : {a, b}) {
    for (const Lease& l : leases) CHECK(together.insert(l.partition).second);  // disjoint
  }
  CHECK(together.size() == kPartitions);
  // a kept its epochs; each partition b took has a new one.
  for (const Lease& l : a) CHECK(l.epoch == first.at(l.partition));
  for (const Lease& l : b) CHECK(l.epoch == first.at(l.partition) + 1);

  // A third: the fair share is ceil(16 / 3) = 6; after a few rounds of heartbeats all 16 are
  // owned again, nobody above 6, nobody idle.
  std::map<std::string, std::vector<Lease>> held;
  for (int round = 0; round < 3; ++round) {
    clock.advance(Duration{1000});
    for (const char* owner : {"a", "b", "c"}) {
      held[owner] = store->heartbeat(owner, kPartitions, kTtl);
    }
  }
  together.clear();
  for (const auto& [owner, leases] : held) {
    CHECK(leases.size() <= 6);
    CHECK(leases.size() >= 4);
    for (const Lease& l : leases) CHECK(together.insert(l.partition).second);
  }
  CHECK(together.size() == kPartitions);
}

TEST_CASE_TEMPLATE_DEFINE(
    "partitioned store contract: a silent owner's partitions are taken after the ttl", F,
    partitioned_contract_expiry) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);
  store->heartbeat("a", kPartitions, kTtl);
  store->heartbeat("b", kPartitions, kTtl);
  const auto a = epochs_of(store->heartbeat("a", kPartitions, kTtl));
  store->heartbeat("b", kPartitions, kTtl);

  // a falls silent. Within the ttl it still counts: b gets nothing more.
  clock.advance(kTtl - Duration{1});
  CHECK(store->heartbeat("b", kPartitions, kTtl).size() == kPartitions / 2);
  // Once the ttl has passed, b is alone and takes every partition; a's under a new epoch.
  clock.advance(Duration{1});
  auto b = store->heartbeat("b", kPartitions, kTtl);
  CHECK(partitions_of(b) == all_partitions());
  for (const Lease& l : b) {
    if (a.contains(l.partition)) CHECK(l.epoch == a.at(l.partition) + 1);
  }

  // a wakes up: it holds nothing (b's leases are alive), and the fair share makes b give half
  // back at its next heartbeat.
  CHECK(store->heartbeat("a", kPartitions, kTtl).empty());
  CHECK(store->heartbeat("b", kPartitions, kTtl).size() == kPartitions / 2);
  CHECK(store->heartbeat("a", kPartitions, kTtl).size() == kPartitions / 2);
}

TEST_CASE_TEMPLATE_DEFINE("partitioned store contract: a released owner's partitions are free", F,
                          partitioned_contract_release) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);
  store->heartbeat("a", kPartitions, kTtl);
  store->heartbeat("b", kPartitions, kTtl);
  const auto a = epochs_of(store->heartbeat("a", kPartitions, kTtl));
  store->heartbeat("b", kPartitions, kTtl);

  store->release("a");
  store->release("nobody");  // an owner without leases: nothing happens
  // No waiting for the ttl: a no longer counts, and its partitions are free.
  auto b = store->heartbeat("b", kPartitions, kTtl);
  CHECK(partitions_of(b) == all_partitions());
  for (const Lease& l : b) {
    if (a.contains(l.partition)) CHECK(l.epoch == a.at(l.partition) + 1);
  }
}

TEST_CASE_TEMPLATE_DEFINE("partitioned store contract: a stale owner's writes are refused", F,
                          partitioned_contract_fencing) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);
  const auto a = epochs_of(store->heartbeat("a", kPartitions, kTtl));
  const std::string s1 = id_in(3);
  const std::string s2 = id_in(5);
  commit(*store, {create_under(saga(s1), a.at(3)), create_under(saga(s2), a.at(5))});

  // a falls silent; b takes everything over.
  clock.advance(kTtl);
  const auto b = epochs_of(store->heartbeat("b", kPartitions, kTtl));
  REQUIRE(b.at(3) == a.at(3) + 1);

  // A batch with a write under a's old epoch is refused whole: nothing of it is written, not
  // even its writes under a current epoch.
  SagaWrite stale = advance(saga(s1, "order", "waiting", 2), 1);
  stale.lease_epoch = a.at(3);
  stale.history.push_back({s1, 2, at(2), "command_sent", "step", "{}"});
  stale.outbox = {command(s1 + "/cmd/1", s1)};
  stale.timers_set.push_back({s1, "saga", at(9)});
  SagaWrite fresh = advance(saga(s2, "order", "waiting", 2), 1);
  fresh.lease_epoch = b.at(5);
  try {
    commit(*store, {fresh, stale});
    FAIL("a write under a stale lease was accepted");
  } catch (const StaleLease& e) {
    CHECK(e.partition == 3);
    CHECK(e.epoch == a.at(3));
  }
  CHECK(store->load(s1)->version == 1);
  CHECK(store->load(s2)->version == 1);
  CHECK(store->history(s1).empty());
  CHECK(store->unpublished_outbox(10).empty());
  CHECK(store->due_timers(at(9), 10).empty());

  // A create under a stale epoch is refused too.
  CHECK_THROWS_AS(commit(*store, {create_under(saga(id_in(7)), a.at(7))}), StaleLease);
  CHECK_FALSE(store->load(id_in(7)).has_value());

  // The new owner's writes go through; so does a write without a lease (a single
  // orchestrator's, epoch 0).
  stale.lease_epoch = b.at(3);
  commit(*store, {fresh, stale});
  CHECK(store->load(s1)->version == 2);
  CHECK(store->load(s2)->version == 2);
  commit(*store, {advance(saga(s1, "order", "running", 3), 2)});
  CHECK(store->load(s1)->version == 3);

  // After a release the next owner's epoch is new again, and the released one's is refused.
  store->release("b");
  const auto c = epochs_of(store->heartbeat("c", kPartitions, kTtl));
  REQUIRE(c.at(3) == b.at(3) + 1);
  SagaWrite late = advance(saga(s1, "order", "failed", 4), 3);
  late.lease_epoch = b.at(3);
  CHECK_THROWS_AS(commit(*store, {late}), StaleLease);
  late.lease_epoch = c.at(3);
  commit(*store, {late});
  CHECK(store->load(s1)->status == "failed");
}

TEST_CASE_TEMPLATE_DEFINE("partitioned store contract: the recovery queries by partition", F,
                          partitioned_contract_queries) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  sagaflow::testing::ManualClock clock;
  F factory;
  auto store = factory.make(clock);
  const auto a = epochs_of(store->heartbeat("a", kPartitions, kTtl));
  // Two unfinished sagas in partition 2, one in 4, one finished in 4, one in 9.
  const std::string two_a = id_in(2, "a");
  const std::string two_b = id_in(2, "b");
  const std::string four = id_in(4);
  const std::string four_done = id_in(4, "done");
  const std::string nine = id_in(9);
  std::vector<SagaWrite> writes;
  for (const auto& id : {two_a, two_b, four, nine}) {
    SagaWrite w = create_under(saga(id), a.at(partition_of(id, kPartitions)));
    w.outbox = {command(id + "/cmd/1", id), command(id + "/cmd/2", id)};
    w.timers_set.push_back({id, "saga", at(id == two_b ? 1 : 2)});
    writes.push_back(std::move(w));
  }
  writes.push_back(create_under(saga(four_done, "order", "completed"), a.at(4)));
  commit(*store, writes);
  for (const auto& id : {two_a, two_b, four, nine}) {
    CHECK(store->load(id)->partition == partition_of(id, kPartitions));
  }

  const std::vector<int> two{2};
  const std::vector<int> two_and_four{2, 4};
  const std::vector<int> none;
  const std::vector<int> empty_partition{11};

  auto unfinished = ids(store->load_unfinished_in(two_and_four));
  std::sort(unfinished.begin(), unfinished.end());
  std::vector<std::string> expected{two_a, two_b, four};
  std::sort(expected.begin(), expected.end());
  CHECK(unfinished == expected);
  CHECK(store->load_unfinished_in(none).empty());
  CHECK(store->load_unfinished_in(empty_partition).empty());

  // Due timers, earliest first, only those due, at most `limit`.
  CHECK(timer_keys(store->due_timers_in(at(2), 10, two)) ==
        std::vector<std::string>{two_b + "/saga", two_a + "/saga"});
  CHECK(timer_keys(store->due_timers_in(at(1), 10, two_and_four)) ==
        std::vector<std::string>{two_b + "/saga"});
  CHECK(store->due_timers_in(at(2), 1, two_and_four).size() == 1);
  CHECK(store->due_timers_in(at(9), 10, none).empty());
  CHECK(store->due_timers_in(at(9), 10, std::vector<int>{9}).size() == 1);

  // The unpublished outbox, in commit order, at most `limit`; published rows are gone.
  auto outbox = store->unpublished_outbox_in(10, two);
  REQUIRE(outbox.size() == 4);
  for (std::size_t i = 1; i < outbox.size(); ++i) CHECK(outbox[i - 1].seq < outbox[i].seq);
  for (const auto& row : outbox) {
    CHECK(partition_of(row.message.correlation_id, kPartitions) == 2);
  }
  check_same(outbox[0].message, command(two_a + "/cmd/1", two_a));
  CHECK(store->unpublished_outbox_in(3, two_and_four).size() == 3);
  CHECK(store->unpublished_outbox_in(10, none).empty());
  commit(*store, {}, {outbox[0].seq, outbox[1].seq});
  CHECK(store->unpublished_outbox_in(10, two).size() == 2);
  CHECK(store->unpublished_outbox_in(10, std::vector<int>{9}).size() == 2);

  // An update keeps the saga in its partition, and so its later outbox rows.
  SagaWrite next = advance(saga(nine, "order", "waiting", 2), 1);
  next.lease_epoch = a.at(9);
  next.outbox = {command(nine + "/cmd/3", nine)};
  commit(*store, {next});
  CHECK(store->load(nine)->partition == 9);
  CHECK(store->unpublished_outbox_in(10, std::vector<int>{9}).size() == 3);
}

// Instantiates every case above for the given factory types (each also needs a TYPE_TO_STRING).
#define SAGAFLOW_PARTITIONED_STORE_CONTRACT(...)                           \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_lone_owner, __VA_ARGS__); \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_fair_share, __VA_ARGS__); \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_expiry, __VA_ARGS__);     \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_release, __VA_ARGS__);    \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_fencing, __VA_ARGS__);    \
  TEST_CASE_TEMPLATE_INVOKE(partitioned_contract_queries, __VA_ARGS__)
