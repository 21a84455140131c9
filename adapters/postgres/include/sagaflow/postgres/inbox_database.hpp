#pragma once
// A service's own PostgreSQL database as a worker's transactional inbox (worker/inbox.hpp): the
// handler's writes, the command's key and its reply commit in one transaction.
//
//   auto db = std::make_shared<sagaflow::postgres::InboxDatabase>(options);
//   worker::Dispatcher dispatcher(std::make_shared<worker::Inbox>(db, {.scope = "orders"}));
//
// One connection (a Session), opened on first use and again after it was lost: a lost
// connection fails the group in hand (not committed, or its fate unknown: the commands come
// again and the dedup rows decide), and the next group reconnects. The inbox's tables live in
// the options' schema (search_path), beside the service's own.
//
// Threading: one thread at a time (the inbox's mutex).
#include <memory>

#include "sagaflow/postgres/postgres_store.hpp"
#include "sagaflow/worker/sql.hpp"

namespace sagaflow::postgres {

class InboxDatabase final : public worker::Database {
 public:
  // Connects lazily: nothing is checked until the first begin().
  explicit InboxDatabase(PostgresOptions options);
  ~InboxDatabase() override;
  InboxDatabase(const InboxDatabase&) = delete;
  InboxDatabase& operator=(const InboxDatabase&) = delete;

  // Throws ConnectionError when it cannot connect, ServerError for a failing BEGIN.
  worker::Sql& begin() override;
  void commit() override;
  void rollback() noexcept override;
  // pg_advisory_xact_lock on a key of the two-integer space, which the store's locks never use.
  void lock_schema() override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::postgres
