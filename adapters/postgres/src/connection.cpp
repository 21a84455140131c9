#include "connection.hpp"

#include <libpq-fe.h>

#include <boost/system/error_code.hpp>

#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

namespace {

constexpr unsigned kReadable = 1;
constexpr unsigned kWritable = 2;

std::string trimmed(const char* text) {
  std::string out = text == nullptr ? std::string() : std::string(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
  return out;
}

Connection::Connection() : socket_(io_) {}

Connection::~Connection() {
  finish();
}

void Connection::connect(const std::vector<std::pair<std::string, std::string>>& keywords,
                         Deadline deadline) {
  finish();
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : keywords) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectStartParams(keys.data(), values.data(), 1);
  if (conn_ == nullptr) throw ConnectionError("postgres: cannot allocate a connection");
  if (PQstatus(conn_) == CONNECTION_BAD) fail("connecting", true);
  // libpq's rule: start as if PQconnectPoll had answered "writing".
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) fail("connecting", true);
    take_socket();
    if (poll == PGRES_POLLING_READING || poll == PGRES_POLLING_WRITING) {
      try {
        wait(poll == PGRES_POLLING_READING, poll == PGRES_POLLING_WRITING, deadline);
      } catch (const ConnectionError& e) {
        finish();
        throw ConnectionError(std::string("postgres: connecting: ") + e.what());
      }
    }
    poll = PQconnectPoll(conn_);
  }
  take_socket();
  if (PQsetnonblocking(conn_, 1) != 0) fail("PQsetnonblocking", true);
  // The server's notices (e.g. "drop cascades to ...") would go to stderr: a library keeps quiet.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

void Connection::finish() noexcept {
  release_socket();
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

bool Connection::ok() const {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

int Connection::backend_pid() const {
  return conn_ == nullptr ? 0 : PQbackendPID(conn_);
}

Connection::Transaction Connection::transaction_status() const {
  switch (PQtransactionStatus(conn_)) {
    case PQTRANS_IDLE:
      return Transaction::idle;
    case PQTRANS_ACTIVE:
      return Transaction::active;
    case PQTRANS_INTRANS:
      return Transaction::open;
    case PQTRANS_INERROR:
      return Transaction::failed;
    default:
      return Transaction::unknown;
  }
}

std::string Connection::error_message() const {
  return conn_ == nullptr ? "not connected" : trimmed(PQerrorMessage(conn_));
}

void Connection::send_query(const std::string& sql) {
  if (PQsendQuery(conn_, sql.c_str()) == 0) fail("PQsendQuery");
}

void Connection::send_query_params(const std::string& sql, const Params& params) {
  const auto values = params.pointers();
  if (PQsendQueryParams(conn_, sql.c_str(), params.size(), nullptr, values.data(), nullptr, nullptr,
                        0) == 0) {
    fail("PQsendQueryParams");
  }
}

void Connection::send_prepare(const std::string& name, const std::string& sql) {
  if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 0) fail("PQsendPrepare");
}

void Connection::send_query_prepared(const std::string& name, const Params& params) {
  const auto values = params.pointers();
  if (PQsendQueryPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0) ==
      0) {
    fail("PQsendQueryPrepared " + name);
  }
}

void Connection::enter_pipeline_mode() {
  if (PQenterPipelineMode(conn_) == 0) fail("PQenterPipelineMode");
}

void Connection::exit_pipeline_mode() {
  if (PQexitPipelineMode(conn_) == 0) fail("PQexitPipelineMode");
}

bool Connection::in_pipeline() const {
  return conn_ != nullptr && PQpipelineStatus(conn_) != PQ_PIPELINE_OFF;
}

void Connection::pipeline_sync() {
  if (PQpipelineSync(conn_) == 0) fail("PQpipelineSync");
}

void Connection::flush(Deadline deadline) {
  while (true) {
    const int rc = PQflush(conn_);
    if (rc == 0) return;
    if (rc < 0) fail("sending", true);
    const unsigned ready = wait(true, true, deadline);
    // The server answers while we send: read its results into libpq's buffer, or it stops
    // reading ours once its socket is full.
    if ((ready & kReadable) != 0 && PQconsumeInput(conn_) == 0) fail("receiving", true);
  }
}

Result Connection::get_result(Deadline deadline) {
  while (true) {
    flush(deadline);
    if (PQisBusy(conn_) == 0) return Result(PQgetResult(conn_));
    wait(true, false, deadline);
    if (PQconsumeInput(conn_) == 0) fail("receiving", true);
  }
}

unsigned Connection::wait(bool read, bool write, Deadline deadline) {
  unsigned ready = 0;
  bool done = false;
  boost::system::error_code failure;
  auto on = [&](unsigned flag) {
    return [&, flag](const boost::system::error_code& ec) {
      if (!ec) {
        ready |= flag;
      } else if (ec != boost::asio::error::operation_aborted) {
        failure = ec;
      }
      done = true;
    };
  };
  using Wait = boost::asio::posix::descriptor_base::wait_type;
  if (read) socket_.async_wait(Wait::wait_read, on(kReadable));
  if (write) socket_.async_wait(Wait::wait_write, on(kWritable));
  io_.restart();
  while (!done && io_.run_one_until(deadline) > 0) {
  }
  // The wait that did not complete is cancelled, and its handler run, before the locals it
  // refers to go out of scope.
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  io_.restart();
  io_.run();
  if (failure) throw ConnectionError("postgres: waiting on the socket: " + failure.message());
  if (ready == 0) throw ConnectionError("postgres: no answer from the server in time");
  return ready;
}

void Connection::take_socket() {
  release_socket();
  const int fd = PQsocket(conn_);
  if (fd < 0) fail("PQsocket", true);
  boost::system::error_code ec;
  socket_.assign(fd, ec);
  if (ec) throw ConnectionError("postgres: cannot watch the socket: " + ec.message());
}

void Connection::release_socket() noexcept {
  // release(), never close(): the descriptor belongs to libpq.
  if (socket_.is_open()) socket_.release();
}

void Connection::fail(const std::string& what, bool io) const {
  const std::string text = "postgres: " + what + ": " + error_message();
  if (io || conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD) throw ConnectionError(text);
  throw Error(text);
}

}  // namespace sagaflow::postgres
