#pragma once
// RAII owner of one sqlite3 connection. Internal to the adapter: sqlite3.h stays in src/.
// Each method wraps one sqlite3 call; errors become sqlite::Error.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

struct sqlite3;

namespace sagaflow::sqlite {

// An SQLite failure, with its extended result code (e.g. to tell a constraint violation).
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  bool is_constraint() const;
  int code;
};

// Throws Error for `rc` with the connection's message, prefixed by `what`.
[[noreturn]] void throw_error(sqlite3* db, int rc, const std::string& what);

class Connection {
 public:
  // Opens (creating if needed) read-write, without SQLite's own mutex: the store serialises all
  // use of the connection with its own.
  explicit Connection(const std::string& path);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // sqlite3_exec: for schema statements and pragmas, which take no parameters.
  void exec(const char* sql);
  // sqlite3_busy_timeout: how long a writer waits for another connection's lock.
  void busy_timeout(std::chrono::milliseconds timeout);
  // sqlite3_changes: rows changed by the last INSERT/UPDATE/DELETE.
  int changes() const;
  // sqlite3_last_insert_rowid: the rowid (e.g. the outbox seq) of the last INSERT.
  std::int64_t last_insert_rowid() const;
  // sqlite3_get_autocommit: false while a transaction is open.
  bool autocommit() const;

  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace sagaflow::sqlite
