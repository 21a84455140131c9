// The PartitionedStore port on PostgreSQL: leases taken, shared fairly, taken over from an
// owner that stopped, and writes fenced by the database itself with the lease epoch.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>

#include "contract/store_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::contract;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

constexpr int kPartitions = 4;
constexpr Duration kTtl = std::chrono::seconds(30);
// A heartbeat with no time to live: the owner counts as stopped at once, without sleeping.
constexpr Duration kExpired = std::chrono::milliseconds(0);

std::vector<int> partitions_of(const std::vector<Lease>& leases) {
  std::vector<int> out;
  for (const Lease& l : leases) out.push_back(l.partition);
  return out;
}

std::uint64_t epoch_of(const std::vector<Lease>& leases, int partition) {
  for (const Lease& l : leases) {
    if (l.partition == partition) return l.epoch;
  }
  FAIL("partition " << partition << " is not held");
  return 0;
}

// A saga id that lands in `partition` of kPartitions.
std::string id_in(int partition, const std::string& prefix = "s") {
  for (int i = 0;; ++i) {
    std::string id = prefix + std::to_string(i);
    if (partition_of(id, kPartitions) == partition) return id;
  }
}

SagaRow saga_in(const std::string& id, std::uint64_t version = 1) {
  SagaRow row = saga(id, "order", "running", version);
  row.partition = partition_of(id, kPartitions);
  return row;
}

SagaWrite fenced(SagaWrite w, std::uint64_t epoch) {
  w.lease_epoch = epoch;
  return w;
}

}  // namespace

TEST_CASE("partitioned store: a lone owner takes every partition and renews without a bump") {
  Scratch scratch;
  PostgresStore a(scratch.options());
  auto leases = a.heartbeat("a", kPartitions, kTtl);
  CHECK(partitions_of(leases) == std::vector<int>{0, 1, 2, 3});
  for (const Lease& l : leases) CHECK(l.epoch == 1);
  // Renewing keeps the epochs: the owner did not change.
  CHECK(a.heartbeat("a", kPartitions, kTtl) == leases);
}

TEST_CASE("partitioned store: a second owner gets its fair share once the first gives extras up") {
  Scratch scratch;
  PostgresStore a(scratch.options());
  PostgresStore b(scratch.options());
  auto first = a.heartbeat("a", kPartitions, kTtl);
  REQUIRE(first.size() == 4);
  // Everything is held and alive: b gets nothing yet.
  CHECK(b.heartbeat("b", kPartitions, kTtl).empty());
  // a's next heartbeat sees two owners alive and keeps its share, its lowest partitions.
  auto kept = a.heartbeat("a", kPartitions, kTtl);
  CHECK(partitions_of(kept) == std::vector<int>{0, 1});
  CHECK(epoch_of(kept, 0) == epoch_of(first, 0));
  auto taken = b.heartbeat("b", kPartitions, kTtl);
  CHECK(partitions_of(taken) == std::vector<int>{2, 3});
  // Given up and taken: two changes of owner, each a bump.
  CHECK(epoch_of(taken, 2) == epoch_of(first, 2) + 2);
  // Stable from here on.
  CHECK(a.heartbeat("a", kPartitions, kTtl) == kept);
  CHECK(b.heartbeat("b", kPartitions, kTtl) == taken);

  // A third owner: the share is 4 / 3 rounded up, 2, which the first two hold already: nothing
  // is free for the third, and nobody gives anything up.
  PostgresStore c(scratch.options());
  CHECK(c.heartbeat("c", kPartitions, kTtl).empty());
  CHECK(a.heartbeat("a", kPartitions, kTtl).size() == 2);
  CHECK(b.heartbeat("b", kPartitions, kTtl).size() == 2);
  CHECK(c.heartbeat("c", kPartitions, kTtl).empty());
}

TEST_CASE("partitioned store: an expired owner's partitions are taken with a bumped epoch") {
  Scratch scratch;
  PostgresStore a(scratch.options());
  PostgresStore b(scratch.options());
  auto old = a.heartbeat("a", kPartitions, kExpired);
  REQUIRE(old.size() == 4);
  // a stopped heartbeating: b is the only owner alive and takes all of it.
  auto taken = b.heartbeat("b", kPartitions, kTtl);
  CHECK(partitions_of(taken) == std::vector<int>{0, 1, 2, 3});
  for (int p = 0; p < kPartitions; ++p) CHECK(epoch_of(taken, p) == epoch_of(old, p) + 1);
  // a comes back: alive again, it waits for b to give its extras up, then takes them.
  CHECK(a.heartbeat("a", kPartitions, kTtl).empty());
  CHECK(partitions_of(b.heartbeat("b", kPartitions, kTtl)) == std::vector<int>{0, 1});
  auto back = a.heartbeat("a", kPartitions, kTtl);
  CHECK(partitions_of(back) == std::vector<int>{2, 3});
  CHECK(epoch_of(back, 2) == epoch_of(taken, 2) + 2);
}

TEST_CASE("partitioned store: release frees the partitions at once, with a bump") {
  Scratch scratch;
  PostgresStore a(scratch.options());
  PostgresStore b(scratch.options());
  auto held = a.heartbeat("a", kPartitions, kTtl);
  REQUIRE(held.size() == 4);
  a.release("a");
  auto taken = b.heartbeat("b", kPartitions, kTtl);
  CHECK(taken.size() == 4);
  CHECK(epoch_of(taken, 1) == epoch_of(held, 1) + 2);
  // a's writes under its old epoch are refused now.
  const std::string id = id_in(1);
  CHECK_THROWS_AS(commit(a, {fenced(create(saga_in(id)), epoch_of(held, 1))}), StaleLease);
  CHECK(commit(b, {fenced(create(saga_in(id)), epoch_of(taken, 1))}).empty());
}

TEST_CASE("partitioned store: a write under a stale epoch is refused and writes nothing") {
  Scratch scratch;
  PostgresStore a(scratch.options());
  PostgresStore b(scratch.options());
  const auto mine = a.heartbeat("a", kPartitions, kExpired);
  REQUIRE(mine.size() == 4);
  const std::string id = id_in(2);
  const std::string other = id_in(0, "o");
  const std::uint64_t epoch = epoch_of(mine, 2);

  SagaWrite w = fenced(create(saga_in(id)), epoch);
  w.outbox.push_back(command(id + "/cmd/1", id));
  w.history.push_back({id, 1, at(1), "started", "", "{}"});
  REQUIRE(commit(a, {w}).size() == 1);

  // b takes the partitions over; a, unaware, goes on writing under its old epoch.
  const auto theirs = b.heartbeat("b", kPartitions, kTtl);
  REQUIRE(theirs.size() == 4);
  SagaWrite stale = fenced(advance(saga_in(id, 2), 1), epoch);
  stale.outbox.push_back(command(id + "/cmd/2", id));
  stale.history.push_back({id, 2, at(2), "command_sent", "reserve", "{}"});
  stale.timers_set.push_back({id, "saga", at(9)});
  SagaWrite fresh = fenced(create(saga_in(other)), epoch_of(mine, 0));
  try {
    commit(a, {fresh, stale});
    FAIL("a write under a stale epoch was accepted");
  } catch (const StaleLease& e) {
    // The first write of the batch is already stale (partition 0 moved too).
    CHECK(e.partition == 0);
    CHECK(e.epoch == epoch_of(mine, 0));
  }
  try {
    commit(a, {stale});
    FAIL("a write under a stale epoch was accepted");
  } catch (const StaleLease& e) {
    CHECK(e.partition == 2);
    CHECK(e.epoch == epoch);
  }

  // Read back: nothing of either batch is there.
  CHECK(b.load(id)->version == 1);
  CHECK_FALSE(b.load(other).has_value());
  CHECK(b.history(id).size() == 1);
  auto outbox = b.unpublished_outbox(10);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].message.id == id + "/cmd/1");
  CHECK(b.due_timers(at(100), 10).empty());

  // Without a lease (epoch 0) on a leased partition: refused too.
  CHECK_THROWS_AS(commit(a, {advance(saga_in(id, 2), 1)}), StaleLease);
  // The new owner's write goes through.
  CHECK(commit(b, {fenced(stale, epoch_of(theirs, 2))}).size() == 1);
  CHECK(b.load(id)->version == 2);
}

TEST_CASE("partitioned store: the recovery queries read only the given partitions") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  const auto leases = store.heartbeat("a", kPartitions, kTtl);
  REQUIRE(leases.size() == 4);
  std::vector<SagaWrite> writes;
  for (int p = 0; p < kPartitions; ++p) {
    for (int n = 0; n < 2; ++n) {
      const std::string id = id_in(p, "p" + std::to_string(n) + "-");
      SagaRow row = saga_in(id);
      row.created_at = at(p * 10 + n);
      if (n == 1) row.status = "completed";
      SagaWrite w = fenced(create(row), epoch_of(leases, p));
      w.outbox.push_back(command(id + "/cmd", id));
      w.timers_set.push_back({id, "saga", at(p)});
      writes.push_back(w);
    }
  }
  commit(store, writes);

  const std::vector<int> some = {1, 3};
  const auto unfinished = store.load_unfinished_in(some);
  CHECK(unfinished.size() == 2);
  for (const auto& s : unfinished) {
    CHECK((s.partition == 1 || s.partition == 3));
    CHECK(s.status == "running");
  }
  CHECK(unfinished[0].created_at < unfinished[1].created_at);
  const auto timers = store.due_timers_in(at(100), 10, some);
  CHECK(timers.size() == 4);
  for (const auto& t : timers) CHECK(partition_of(t.saga_id, kPartitions) % 2 == 1);
  CHECK(store.due_timers_in(at(1), 10, some).size() == 2);  // due at(1): partition 1 only
  CHECK(store.due_timers_in(at(100), 3, some).size() == 3);
  const auto outbox = store.unpublished_outbox_in(10, some);
  CHECK(outbox.size() == 4);
  for (const auto& o : outbox) {
    CHECK(partition_of(o.message.correlation_id, kPartitions) % 2 == 1);
  }
  CHECK(std::is_sorted(outbox.begin(), outbox.end(),
                       [](const OutboxRow& x, const OutboxRow& y) { return x.seq < y.seq; }));
  CHECK(store.load_unfinished_in(std::vector<int>{}).empty());
  CHECK(store.load_unfinished_in(std::vector<int>{0, 1, 2, 3}).size() == 4);
}

TEST_CASE("partitioned store: owners heartbeating at once never hold a partition twice") {
  Scratch scratch;
  constexpr int kOwners = 3;
  constexpr int kMany = 16;
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int i = 0; i < kOwners; ++i) {
    stores.push_back(std::make_unique<PostgresStore>(scratch.options()));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kOwners; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 10; ++round) {
        stores[i]->heartbeat("owner-" + std::to_string(i), kMany, kTtl);
      }
    });
  }
  for (auto& t : threads) t.join();
  // A last round each, in turn, settles the shares: 16 / 3 rounded up is 6, so 6, 6 and 4.
  std::vector<std::vector<Lease>> held(kOwners);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kOwners; ++i) {
      held[i] = stores[i]->heartbeat("owner-" + std::to_string(i), kMany, kTtl);
    }
  }
  std::set<int> seen;
  std::size_t total = 0;
  for (const auto& leases : held) {
    CHECK(leases.size() >= 4);
    CHECK(leases.size() <= 6);
    total += leases.size();
    for (const Lease& l : leases) seen.insert(l.partition);
  }
  CHECK(total == kMany);
  CHECK(seen.size() == kMany);
}
