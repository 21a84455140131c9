#pragma once
// A parameterised SQL handle on an open connection of a service's own database: what a handler
// writes its effect through when the Dispatcher runs on a transactional inbox (inbox.hpp). The
// adapters implement it (adapters/sqlite, adapters/postgres); no vendor type appears here.
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sagaflow::worker {

class Sql {
 public:
  using Value = std::optional<std::string>;  // text form; nullopt = NULL
  using Row = std::vector<Value>;

  virtual ~Sql() = default;

  // One statement; values only as parameters, written $1, $2, ... in the SQL text on every
  // database (PostgreSQL's own syntax; SQLite reads "$1" as a named parameter, bound by name).
  // Parameters travel as text: the column's type converts them. Returns the statement's rows,
  // every column in text form (none for a command without RETURNING). Throws on any error.
  virtual std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {}) = 0;

  // The first column of the first row, or nullopt when there is no row (or it is NULL).
  Value scalar(std::string_view sql, const std::vector<Value>& params = {}) {
    auto rows = query(sql, params);
    if (rows.empty() || rows[0].empty()) return std::nullopt;
    return rows[0][0];
  }
};

// One connection to a service's database, as the inbox drives it. Implementations:
// sqlite::InboxDatabase, postgres::InboxDatabase. Used by one thread at a time: every Inbox on
// it holds mutex() around each use, so several inboxes (scopes) may share one connection.
class Database {
 public:
  virtual ~Database() = default;

  std::mutex& mutex() { return mutex_; }

  // Opens a write transaction (reconnecting first when the last connection was lost) and
  // returns the handle its statements go through, valid until commit() or rollback().
  virtual Sql& begin() = 0;
  // Commits the transaction begun. Throws when it fails or its fate is unknown (a connection
  // lost during COMMIT): the caller then treats the group as not committed, and the dedup rows
  // tell on redelivery which of its commands were.
  virtual void commit() = 0;
  // Rolls back the open transaction, if any; never throws (a broken connection is dropped and
  // reopened by the next begin()).
  virtual void rollback() noexcept = 0;
  // In the migrating transaction, before the schema version is read: keeps other processes
  // from migrating the same database at the same time.
  virtual void lock_schema() = 0;

 private:
  std::mutex mutex_;
};

}  // namespace sagaflow::worker
