#pragma once
// A plain SQL session on the adapter's connection layer, for tools and tests: set a schema up,
// look at rows from outside the store, hold a lock. One connection, no reconnecting, no
// prepared statements; the same non-blocking I/O as the store.
//
// Threading: one thread at a time.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/postgres/errors.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace sagaflow::postgres {

class Session {
 public:
  using Value = std::optional<std::string>;  // text form; nullopt = NULL
  using Row = std::vector<Value>;

  // Connects with the options' dsn, schema, application_name and timeouts. Throws
  // ConnectionError.
  explicit Session(const PostgresOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One statement; values only as parameters ($1, $2, ... in text form), never in the text.
  // Returns its rows (none for a command). Throws ServerError (typed by SQLSTATE class) or
  // ConnectionError.
  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {});
  // The first column of the first row, or nullopt when there is no row.
  Value scalar(std::string_view sql, const std::vector<Value>& params = {});
  // SQL text without parameters, possibly several statements (the simple protocol): for fixed
  // setup text only, never text built from values.
  void execute(std::string_view sql);
  // The server process of this session (pg_backend_pid()).
  int backend_pid() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow::postgres
