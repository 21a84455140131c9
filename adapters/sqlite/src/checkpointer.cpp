#include "checkpointer.hpp"

#include <sqlite3.h>

namespace sagaflow::sqlite {

namespace {

// Errors are left alone, as SQLite's auto-checkpoint leaves them: busy (another process's
// checkpoint under way) or a failed write leave the log as it was, and a later commit asks again.
void checkpoint_passive(sqlite3* db, const char* schema) {
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

}  // namespace

Checkpointer::Checkpointer(const std::string& path, const char* synchronous_pragma, int pages)
    : connection_(path), pages_(pages) {
  // The log restarts only once the copied pages are synced to the database file, when this
  // connection's `synchronous` says to: the same as the writer's.
  connection_.exec(synchronous_pragma);
  thread_ = std::thread([this] { run(); });
}

Checkpointer::~Checkpointer() {
  if (writer_ != nullptr) sqlite3_wal_hook(writer_->get(), nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Checkpointer::attach(Connection& writer) {
  writer_ = &writer;
  sqlite3_wal_hook(writer.get(), &Checkpointer::on_commit, this);
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto& checkpointer = *static_cast<Checkpointer*>(self);
  if (wal_pages >= 4 * checkpointer.pages_) {
    std::lock_guard copying(checkpointer.copying_);
    checkpoint_passive(db, schema);
  } else if (wal_pages >= checkpointer.pages_) {
    {
      std::lock_guard lock(checkpointer.mutex_);
      checkpointer.wanted_ = true;
    }
    checkpointer.wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    {
      std::lock_guard copying(copying_);
      checkpoint_passive(connection_.get(), nullptr);
    }
    lock.lock();
  }
}

}  // namespace sagaflow::sqlite
