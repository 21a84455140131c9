#pragma once
// Which partitions this orchestrator owns: the heartbeat that renews its leases, takes its fair
// share and gives up the rest (PartitionedStore::heartbeat), on a schedule of its own.
//
// The round never waits for it and it never waits for the round: with
// OrchestratorOptions::renew_leases_on_own_thread it runs on a thread of its own
// (keep_renewing), through a store connection of its own (OrchestratorOptions::lease_store), so
// that a round held up by the broker or a slow commit does not let the leases expire. Without,
// the round calls renew_if_due() at its start, as unit tests with a manual clock do.
//
// The round follows what the heartbeats decide (changed_since) and applies each change on its
// own thread, between rounds: a round computes under one set of leases.
//
// Intervals (every, the leases' ttl) are measured on the clock's monotonic time.
//
// Threading: every member may be called from any thread.
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

struct OwnershipOptions {
  std::string owner;
  int partition_count = 16;
  Duration lease_ttl{5000};
  Duration heartbeat_every{1000};
};

class PartitionOwnership {
 public:
  using Leases = std::map<int, std::uint64_t>;  // partition -> lease epoch

  PartitionOwnership(PartitionedStore& store, const Clock& clock, OwnershipOptions options);

  // One heartbeat when it is due (every heartbeat_every, or at once after renew_soon()).
  void renew_if_due();
  // One heartbeat now.
  void renew();
  // Heartbeats on their schedule until `stop` (the body of a thread of its own). Waits in real
  // time a quarter of the interval between looks at the clock, so a manual clock moved by a
  // test is seen within moments.
  void keep_renewing(std::stop_token stop);
  // The next heartbeat comes at once (a write was refused as StaleLease: ask the store).
  void renew_soon();
  // Gives every lease up (PartitionedStore::release); throws the store's error. A later
  // heartbeat takes partitions again.
  void release();

  // The leases as of the last heartbeat, when a heartbeat answered (or the leases were given
  // up) since `seen`, which it then moves on; nullopt otherwise.
  std::optional<Leases> changed_since(std::uint64_t& seen) const;

 private:
  void publish(Leases leases);

  PartitionedStore& store_;
  const Clock& clock_;
  const OwnershipOptions options_;

  std::mutex heartbeat_mutex_;  // one heartbeat at a time; held while the store answers
  mutable std::mutex mutex_;    // what follows; never held across a store call
  std::condition_variable_any wake_;
  bool due_now_ = true;        // at once, whatever the time (start, stale lease)
  Duration last_attempt_{0};   // monotonic
  Duration last_renewed_{0};   // monotonic: the last heartbeat the store answered
  bool ever_renewed_ = false;  // last_renewed_ means nothing before the first
  Leases leases_;
  std::uint64_t generation_ = 0;  // +1 per heartbeat answered or leases given up
};

}  // namespace sagaflow
