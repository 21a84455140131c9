#include "partition_ownership.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

namespace sagaflow {

PartitionOwnership::PartitionOwnership(PartitionedStore& store, const Clock& clock,
                                       OwnershipOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {}

void PartitionOwnership::renew_if_due() {
  {
    std::lock_guard lock(mutex_);
    if (!due_now_ && clock_.monotonic() - last_attempt_ < options_.heartbeat_every) return;
  }
  renew();
}

void PartitionOwnership::renew() {
  std::lock_guard heartbeat(heartbeat_mutex_);
  const auto started = clock_.monotonic();
  {
    std::lock_guard lock(mutex_);
    due_now_ = false;
    last_attempt_ = started;
  }
  std::vector<Lease> held;
  try {
    held = store_.heartbeat(options_.owner, options_.partition_count, options_.lease_ttl);
  } catch (const std::exception&) {
    // The store cannot be reached: carry on until the leases may have expired (the store
    // refuses a stale owner's writes anyway), then let go of everything; the next heartbeat
    // tries again.
    bool expired = false;
    {
      std::lock_guard lock(mutex_);
      expired = !leases_.empty() &&
                (!ever_renewed_ || clock_.monotonic() - last_renewed_ >= options_.lease_ttl);
    }
    if (expired) publish({});
    return;
  }
  Leases next;
  for (const auto& l : held) next.emplace(l.partition, l.epoch);
  {
    std::lock_guard lock(mutex_);
    // Measured from when it was asked: the store renewed the leases at some point after.
    last_renewed_ = started;
    ever_renewed_ = true;
  }
  publish(std::move(next));
}

void PartitionOwnership::keep_renewing(std::stop_token stop) {
  const auto look_every = std::max(Duration{1}, options_.heartbeat_every / 4);
  while (!stop.stop_requested()) {
    renew_if_due();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, look_every, [&] { return due_now_; });
  }
}

void PartitionOwnership::renew_soon() {
  {
    std::lock_guard lock(mutex_);
    due_now_ = true;
  }
  wake_.notify_all();
}

void PartitionOwnership::release() {
  std::lock_guard heartbeat(heartbeat_mutex_);
  store_.release(options_.owner);
  publish({});
}

std::optional<PartitionOwnership::Leases> PartitionOwnership::changed_since(
    std::uint64_t& seen) const {
  std::lock_guard lock(mutex_);
  if (seen == generation_) return std::nullopt;
  seen = generation_;
  return leases_;
}

void PartitionOwnership::publish(Leases leases) {
  std::lock_guard lock(mutex_);
  leases_ = std::move(leases);
  ++generation_;
}

}  // namespace sagaflow
