#pragma once
// A service's own SQLite database as a worker's transactional inbox (worker/inbox.hpp): the
// handler's writes, the command's key and its reply commit in one transaction of this file.
//
//   auto db = std::make_shared<sagaflow::sqlite::InboxDatabase>("orders.db");
//   worker::Dispatcher dispatcher(std::make_shared<worker::Inbox>(db, {.scope = "orders"}));
//   dispatcher.on("orders.create", [](const worker::Command& c) {
//     c.transaction->query("INSERT INTO orders (id) VALUES ($1)", {...});
//     return worker::Result::ok();
//   });
//
// The file is opened in WAL mode with synchronous = FULL (a commit survives a crash of the
// process and of the machine) and a busy timeout, so that other processes may read it (and
// write it) while the worker runs. Transactions are BEGIN IMMEDIATE: a writer takes the lock
// before reading, so two processes never deadlock upgrading a read to a write.
//
// Threading: one thread at a time (the inbox's mutex).
#include <chrono>
#include <memory>
#include <string>

#include "sagaflow/worker/sql.hpp"

namespace sagaflow::sqlite {

class InboxDatabase final : public worker::Database {
 public:
  // Opens (creating) the file. Throws std::runtime_error when it cannot.
  explicit InboxDatabase(const std::string& path,
                         std::chrono::milliseconds busy_timeout = std::chrono::seconds(5));
  ~InboxDatabase() override;
  InboxDatabase(const InboxDatabase&) = delete;
  InboxDatabase& operator=(const InboxDatabase&) = delete;

  worker::Sql& begin() override;
  void commit() override;
  void rollback() noexcept override;
  // BEGIN IMMEDIATE holds the file's write lock already.
  void lock_schema() override {}

  // Statements outside the inbox's transactions (set-up, reading a report): each in its own
  // autocommit transaction unless one is open. Same rules as worker::Sql.
  worker::Sql& sql();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::sqlite
