#pragma once
// Copies the WAL into the database file (a checkpoint) on a thread and connection of its own,
// so that the committing thread only appends to the log and syncs it. Internal to the adapter.
//
// SQLite's own auto-checkpoint runs inside the commit that takes the WAL past its limit: the
// writer copies tens of megabytes and syncs the database file while the sagas of the next round
// wait. Here the commit only counts the WAL's pages (a WAL hook) and wakes this thread past
// `pages`; the thread runs a PASSIVE checkpoint, which takes no lock the writer needs. The log
// restarts from its beginning at the first commit that finds it wholly copied.
//
// A checkpoint that cannot keep up (the thread starved, or slower than the commits) must not let
// the log grow without bound: past `4 * pages` the writer waits for the thread's checkpoint under
// way and copies the rest itself, inside its commit, as SQLite would have. The log then holds at
// most that many pages and one commit's. (A reader of another process holding an old snapshot
// keeps frames from being copied, here as with SQLite's own checkpoint.)
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "connection.hpp"

namespace sagaflow::sqlite {

class Checkpointer {
 public:
  // Opens its connection to `path` (a file, not ":memory:") with the writer's `synchronous`
  // pragma, and starts the thread.
  Checkpointer(const std::string& path, const char* synchronous_pragma, int pages);
  // Stops and joins the thread; a checkpoint under way finishes first.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Replaces the writer's auto-checkpoint by this one, until this object is destroyed (which
  // must come before the writer closes).
  void attach(Connection& writer);

 private:
  static int on_commit(void* self, struct sqlite3* db, const char* schema, int wal_pages);
  void run();

  Connection connection_;
  const int pages_;
  Connection* writer_ = nullptr;
  std::mutex mutex_;    // wanted_, stopping_
  std::mutex copying_;  // held by whoever checkpoints: the thread, or the writer past the limit
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything it reads is initialised
};

}  // namespace sagaflow::sqlite
