#pragma once
// What watchers are told of the sagas: one SagaChange per committed transition of a saga (its
// status, version and the records it wrote), kept in a bounded ring with increasing ids so that
// a watcher that comes back asks for what it missed since the last id it saw.
//
// The orchestrator reports each commit (OrchestratorOptions::on_committed, on its thread); the
// admin endpoint's event stream and its waiting starts read the ring and are woken by it, so
// that nobody polls the store to learn that a saga moved.
//
// Threading: every member may be called from any thread. publish() wakes the watchers on the
// publishing thread, outside the lock: a wake-up must only schedule work (post to a strand,
// notify a condition variable), never block or publish.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/saga.hpp"

namespace sagaflow {

struct SagaRecordRef {
  std::string kind;  // a history record's kind, e.g. "reply_received"
  std::string step;  // its activity key, empty for a saga-level record
};

struct SagaChange {
  std::uint64_t id = 0;  // given by the feed: 1, 2, 3... in commit order within this process
  std::string saga_id;
  std::string flow;
  int flow_version = 1;
  std::string status;
  std::uint64_t version = 0;  // the saga's version after the change
  Timestamp at{};
  std::vector<SagaRecordRef> records;   // what the transition wrote to the history, in order
  std::vector<std::string> done_steps;  // every step completed so far, in the flow's order
};

// The change a committed write made, with the state the saga has after it.
SagaChange change_of(const SagaWrite& write, const SagaState& state);

// Which changes a watcher wants; an empty set admits any value.
struct ChangeFilter {
  std::set<std::string, std::less<>> flows;
  std::set<std::string, std::less<>> statuses;
  std::set<std::string, std::less<>> saga_ids;
  bool admits(const SagaChange& change) const;
};

class SagaChangeFeed {
 public:
  explicit SagaChangeFeed(std::size_t capacity = 10'000);

  // Gives each change the next id, keeps the newest `capacity`, wakes every watcher.
  void publish(std::vector<SagaChange> changes);

  // The changes after `after` that `filter` admits, at most `max`. `gap` when some changes after
  // `after` are gone from the ring already (or `after` is an id this feed never gave): the
  // watcher must read the store again. `next` is the id to ask after next time (it moves past
  // the changes the filter did not admit too).
  struct Read {
    std::vector<SagaChange> changes;
    bool gap = false;
    std::uint64_t oldest = 0;  // the oldest id still kept, 0 when none
    std::uint64_t next = 0;
  };
  Read read_after(std::uint64_t after, const ChangeFilter& filter, std::size_t max) const;

  // The id of the newest change, 0 before the first.
  std::uint64_t last_id() const;

  // Calls `wake` after every publish until the returned handle is dropped.
  using Watch = std::shared_ptr<void>;
  Watch watch(std::function<void()> wake);

 private:
  struct Watcher;
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::deque<SagaChange> ring_;
  std::uint64_t last_id_ = 0;
  std::vector<std::weak_ptr<Watcher>> watchers_;
};

}  // namespace sagaflow
