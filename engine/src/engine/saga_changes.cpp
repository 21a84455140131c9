#include "sagaflow/engine/saga_changes.hpp"

#include <algorithm>
#include <utility>

#include "sagaflow/engine/lifecycle.hpp"

namespace sagaflow {

SagaChange change_of(const SagaWrite& write, const SagaState& state) {
  SagaChange change;
  change.saga_id = write.saga.id;
  change.flow = write.saga.flow;
  change.flow_version = write.saga.flow_version;
  change.status = write.saga.status;
  change.version = write.saga.version;
  change.at = write.saga.updated_at;
  change.records.reserve(write.history.size());
  for (const auto& h : write.history) change.records.push_back(SagaRecordRef{h.kind, h.step});
  if (state.plan) {
    const auto& nodes = state.plan->nodes();
    for (std::size_t i = 0; i < nodes.size() && i < state.nodes.size(); ++i) {
      if (state.nodes[i] == NodeStatus::done && nodes[i].step) {
        change.done_steps.push_back(nodes[i].step->name);
      }
    }
  }
  return change;
}

bool ChangeFilter::admits(const SagaChange& change) const {
  return (flows.empty() || flows.contains(change.flow)) &&
         (statuses.empty() || statuses.contains(change.status)) &&
         (saga_ids.empty() || saga_ids.contains(change.saga_id));
}

// ---------------------------------------------------------------------------------------------

struct SagaChangeFeed::Watcher {
  std::function<void()> wake;
};

SagaChangeFeed::SagaChangeFeed(std::size_t capacity)
    : capacity_(std::max<std::size_t>(1, capacity)) {}

void SagaChangeFeed::publish(std::vector<SagaChange> changes) {
  if (changes.empty()) return;
  std::vector<std::shared_ptr<Watcher>> woken;
  {
    std::lock_guard lock(mutex_);
    for (auto& c : changes) {
      c.id = ++last_id_;
      ring_.push_back(std::move(c));
    }
    while (ring_.size() > capacity_) ring_.pop_front();
    std::erase_if(watchers_, [&](const std::weak_ptr<Watcher>& w) {
      auto alive = w.lock();
      if (!alive) return true;
      woken.push_back(std::move(alive));
      return false;
    });
  }
  for (const auto& w : woken) w->wake();
}

SagaChangeFeed::Read SagaChangeFeed::read_after(std::uint64_t after, const ChangeFilter& filter,
                                                std::size_t max) const {
  std::lock_guard lock(mutex_);
  Read read;
  read.oldest = ring_.empty() ? 0 : ring_.front().id;
  // An id this feed never gave (another process's, before a restart), or one whose successors
  // left the ring: the watcher re-reads the store and goes on from the newest change.
  if (after > last_id_ || (!ring_.empty() && after + 1 < read.oldest)) {
    read.gap = true;
    read.next = last_id_;
    return read;
  }
  read.next = after;
  if (ring_.empty()) return read;
  // Ids are consecutive in the ring: the first one after `after` sits at a known offset.
  for (auto i = static_cast<std::size_t>(after + 1 - read.oldest); i < ring_.size(); ++i) {
    if (read.changes.size() >= max) break;
    const auto& c = ring_[i];
    read.next = c.id;
    if (filter.admits(c)) read.changes.push_back(c);
  }
  return read;
}

std::uint64_t SagaChangeFeed::last_id() const {
  std::lock_guard lock(mutex_);
  return last_id_;
}

SagaChangeFeed::Watch SagaChangeFeed::watch(std::function<void()> wake) {
  auto watcher = std::make_shared<Watcher>(Watcher{std::move(wake)});
  std::lock_guard lock(mutex_);
  watchers_.push_back(watcher);
  return watcher;
}

}  // namespace sagaflow
