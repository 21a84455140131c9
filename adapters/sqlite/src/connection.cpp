#include "connection.hpp"

#include <sqlite3.h>

namespace sagaflow::sqlite {

bool Error::is_constraint() const {
  return (code & 0xff) == SQLITE_CONSTRAINT;
}

void throw_error(sqlite3* db, int rc, const std::string& what) {
  std::string message = "sqlite: " + what + ": ";
  // The connection's message describes the last failing call; fall back to the code's text.
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw Error(rc, message);
}

Connection::Connection(const std::string& path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 allocates a handle even on failure, to carry the message; free it here.
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(rc, "sqlite: cannot open " + path + ": " + message);
  }
  // Extended codes tell a primary key from a unique index violation and busy from locked.
  sqlite3_extended_result_codes(db_, 1);
}

Connection::~Connection() {
  sqlite3_close_v2(db_);
}

void Connection::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_error(db_, rc, sql);
}

void Connection::busy_timeout(std::chrono::milliseconds timeout) {
  const int rc = sqlite3_busy_timeout(db_, static_cast<int>(timeout.count()));
  if (rc != SQLITE_OK) throw_error(db_, rc, "busy_timeout");
}

int Connection::changes() const {
  return sqlite3_changes(db_);
}

std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

bool Connection::autocommit() const {
  return sqlite3_get_autocommit(db_) != 0;
}

}  // namespace sagaflow::sqlite
