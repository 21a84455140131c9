#pragma once
// RAII owner of one prepared statement. Internal to the adapter. Each method wraps one sqlite3
// call. Statements are prepared once and reused (reset between uses): preparing is the costly
// part of a small INSERT, and group commit runs thousands of them per transaction.
#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace sagaflow::sqlite {

class Statement {
 public:
  // sqlite3_prepare_v3, flagged persistent (kept for the life of the store).
  Statement(sqlite3* db, std::string_view sql);
  // sqlite3_finalize.
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // sqlite3_bind_text, 1-based. The text is not copied (SQLITE_STATIC): it must stay alive and
  // unchanged until reset(). An empty view binds '' (never NULL).
  void bind(int index, std::string_view value);
  // sqlite3_bind_int64, 1-based.
  void bind(int index, std::int64_t value);

  // Binds the arguments to parameters 1, 2, ... in order (same lifetime rule as bind()).
  template <class... Args>
  void bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
  }

  // sqlite3_step: true when a row is available, false when the statement is done.
  bool step();
  // sqlite3_reset: ready to run again (bindings are kept until rebound). Ends the read snapshot
  // of a SELECT that was not stepped to the end.
  void reset() noexcept;

  // sqlite3_column_text / sqlite3_column_bytes, 0-based.
  std::string column_text(int index) const;
  // sqlite3_column_int64, 0-based.
  std::int64_t column_int64(int index) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement at the end of a scope, also when an exception leaves it, so that a cached
// statement never stays mid-step (holding a read snapshot or pointers to dead strings).
class Use {
 public:
  explicit Use(Statement& statement) : statement_(statement) {}
  ~Use() { statement_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement* operator->() { return &statement_; }

 private:
  Statement& statement_;
};

}  // namespace sagaflow::sqlite
