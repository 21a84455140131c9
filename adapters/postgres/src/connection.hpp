#pragma once
// RAII owner of one libpq connection, non-blocking: every wait for the server is an async_wait
// on the connection's socket (wrapped in an Asio stream_descriptor), run on the connection's
// private io_context until it completes or the deadline passes. Internal to the adapter:
// libpq-fe.h stays in src/*.cpp. Each method wraps one libpq call (named in its comment);
// flush() and get_result() are the loops libpq's non-blocking mode asks for.
//
// Not thread-safe: one thread at a time (the store's mutex).
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "array_literal.hpp"
#include "result.hpp"

struct pg_conn;

namespace sagaflow::postgres {

using Deadline = std::chrono::steady_clock::time_point;

inline Deadline deadline_in(std::chrono::milliseconds timeout) {
  return std::chrono::steady_clock::now() + timeout;
}

// The parameters of one statement, in PostgreSQL's text form: values only, never SQL text.
class Params {
 public:
  Params& add(std::string_view value) {
    values_.emplace_back(value);
    return *this;
  }
  Params& add(const char* value) { return add(std::string_view(value)); }
  Params& add(const std::string& value) { return add(std::string_view(value)); }
  Params& add(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
  }
  Params& add(std::uint64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
  }
  Params& add(int value) { return add(static_cast<std::int64_t>(value)); }
  Params& add_null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  Params& add(const std::optional<std::string>& value) {
    values_.push_back(value);
    return *this;
  }
  // An array in its text form (array_literal.hpp), for a "$n::type[]" parameter.
  Params& add(const ArrayLiteral& value) {
    values_.emplace_back(value.str());
    return *this;
  }
  // An int[] or bigint[] in its text form, e.g. {1,2,3}.
  template <class Int>
  Params& add_array(const std::vector<Int>& values) {
    std::string text = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) text += ',';
      text += std::to_string(values[i]);
    }
    text += '}';
    values_.emplace_back(std::move(text));
    return *this;
  }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for libpq, valid while this object lives unchanged.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

class Connection {
 public:
  enum class Transaction { idle, active, open, failed, unknown };

  Connection();
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // PQconnectStartParams (the keywords in order, later ones overriding earlier; "dbname" is
  // expanded when it is a connection string or URI), then PQconnectPoll, waiting on the socket
  // as it asks, until connected; then PQsetnonblocking, and PQsetNoticeProcessor to drop the
  // server's notices. libpq may open another socket while
  // connecting (the next address of a host), so the descriptor is taken anew at every step.
  // Throws ConnectionError (its text never contains the password).
  void connect(const std::vector<std::pair<std::string, std::string>>& keywords, Deadline deadline);
  // PQfinish, after releasing the socket from Asio (PQfinish closes it). A no-op when closed.
  void finish() noexcept;

  // PQstatus == CONNECTION_OK.
  bool ok() const;
  // PQbackendPID: the server process serving this connection.
  int backend_pid() const;
  // PQtransactionStatus.
  Transaction transaction_status() const;
  // PQerrorMessage, without its trailing newline.
  std::string error_message() const;

  // PQsendQuery: SQL text without parameters, possibly several statements (simple protocol; not
  // in pipeline mode).
  void send_query(const std::string& sql);
  // PQsendQueryParams: one statement with text parameters.
  void send_query_params(const std::string& sql, const Params& params);
  // PQsendPrepare: prepares `sql` under `name`, parameter types inferred by the server.
  void send_prepare(const std::string& name, const std::string& sql);
  // PQsendQueryPrepared: runs a prepared statement with text parameters, results in text.
  void send_query_prepared(const std::string& name, const Params& params);

  // PQenterPipelineMode.
  void enter_pipeline_mode();
  // PQexitPipelineMode: only once every result has been read.
  void exit_pipeline_mode();
  // PQpipelineStatus != PQ_PIPELINE_OFF.
  bool in_pipeline() const;
  // PQpipelineSync: ends a pipeline's transaction unit; its result is PGRES_PIPELINE_SYNC.
  void pipeline_sync();

  // PQflush until everything queued is sent (0): waits writable, and reads what the server sends
  // meanwhile (PQconsumeInput) so that neither side blocks on a full socket.
  void flush(Deadline deadline);
  // PQgetResult, once PQisBusy says it will not block: waits readable and PQconsumeInput until
  // then. A null Result ends one statement's results.
  Result get_result(Deadline deadline);

 private:
  // Waits until the socket is readable and/or writable; returns which (kReadable, kWritable).
  unsigned wait(bool read, bool write, Deadline deadline);
  // (Re)wraps the current PQsocket in the stream_descriptor.
  void take_socket();
  void release_socket() noexcept;
  // Throws ConnectionError when the connection is broken (or `io` is set), Error otherwise,
  // with PQerrorMessage.
  [[noreturn]] void fail(const std::string& what, bool io = false) const;

  pg_conn* conn_ = nullptr;
  boost::asio::io_context io_;
  boost::asio::posix::stream_descriptor socket_;
};

}  // namespace sagaflow::postgres
