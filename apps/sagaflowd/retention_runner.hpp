#pragma once
// Retention in sagaflowd: a thread of its own runs a pass every `interval` (the first at start),
// batch after batch with `pause` between them (and longer after a slow batch:
// sagaflow::retention_pause), so that the orchestrator's commits go on between batches (on SQLite
// the store's lock is taken for one short transaction at a time; on PostgreSQL retention has a
// connection of its own). POST /api/purge asks for a pass now: it is run next, between two batches
// of a pass under way (which is then dropped).
//
// Threading: purge_now() from any thread; the Retention is used on the runner's thread only.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "sagaflow/engine/retention.hpp"

namespace sagaflowd {

class RetentionRunner {
 public:
  RetentionRunner(sagaflow::Retention& retention, std::chrono::milliseconds pause,
                  std::chrono::milliseconds interval);
  ~RetentionRunner();  // stops the thread (a pass under way ends after its current batch)
  RetentionRunner(const RetentionRunner&) = delete;
  RetentionRunner& operator=(const RetentionRunner&) = delete;

  // A pass now, narrowed to `scope`: fulfilled with what it removed, or the error that ended it.
  std::future<std::vector<sagaflow::PurgeGroup>> purge_now(sagaflow::PurgeScope scope);

 private:
  struct Request {
    sagaflow::PurgeScope scope;
    std::promise<std::vector<sagaflow::PurgeGroup>> done;
  };
  void run(std::stop_token stop);
  // Batches until the pass ends, the process stops, or (`yield`) a request comes. True when the
  // pass ended.
  bool pass(std::stop_token& stop, bool yield);
  // Waits up to `wait`; true when a request or the stop came.
  bool wait_for(std::stop_token& stop, std::chrono::milliseconds wait);

  sagaflow::Retention& retention_;
  std::chrono::milliseconds pause_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable_any changed_;
  std::deque<Request> requests_;
  std::jthread thread_;  // last: started once the members above exist
};

}  // namespace sagaflowd
