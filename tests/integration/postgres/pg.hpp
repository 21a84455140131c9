#pragma once
// What the PostgreSQL integration tests share: the server's DSN (from SAGAFLOW_TEST_PG_DSN, set
// by tools/test after tools/test-pg start; a missing or unreachable server fails the test, it
// never skips), a schema of its own per test case (ctest runs them side by side on one server,
// each in an empty schema, dropped at the end), and a server of the test's own for the tests
// that restart one.
#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "sagaflow/postgres/postgres_store.hpp"
#include "sagaflow/postgres/session.hpp"

namespace sagaflow::postgres::testing {

using namespace std::chrono_literals;

inline std::string test_dsn() {
  const char* dsn = std::getenv("SAGAFLOW_TEST_PG_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    FAIL(
        "SAGAFLOW_TEST_PG_DSN is not set: run tools/test, or tools/test-pg start and "
        "export SAGAFLOW_TEST_PG_DSN=$(tools/test-pg dsn)");
  }
  return dsn;
}

inline PostgresOptions options_for(const std::string& dsn, const std::string& schema,
                                   const std::string& application = "sagaflow-test") {
  PostgresOptions o;
  o.dsn = dsn;
  o.schema = schema;
  o.application_name = application;
  o.connect_timeout = 5s;
  return o;
}

// A schema of its own: created empty, dropped with everything in it at the end. Its name is
// made here from [a-z0-9_] only, so it may be written into the setup SQL.
class Scratch {
 public:
  explicit Scratch(std::string dsn = test_dsn()) : dsn_(std::move(dsn)), name_(unique_name()) {
    Session(options_for(dsn_, "")).execute("CREATE SCHEMA " + name_);
  }
  // On a new connection: the server may have been restarted since.
  ~Scratch() {
    try {
      Session(options_for(dsn_, "")).execute("DROP SCHEMA " + name_ + " CASCADE");
    } catch (const std::exception& e) {
      MESSAGE("could not drop test schema " << name_ << ": " << std::string(e.what()));
    }
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::string& dsn() const { return dsn_; }
  const std::string& schema() const { return name_; }
  PostgresOptions options(const std::string& application = "sagaflow-test") const {
    return options_for(dsn_, name_, application);
  }
  // A session outside the store, in the schema: to look at rows as they are stored.
  Session session() const { return Session(options("sagaflow-test-probe")); }

 private:
  static std::string unique_name() {
    static std::atomic<int> counter{0};
    std::random_device random;
    return "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(random() % 1000000);
  }

  std::string dsn_;
  std::string name_;
};

// Polls `condition` until true or `timeout`.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A PostgreSQL of the test's own (tools/test-pg with its own port and folder, whatever
// SAGAFLOW_TEST_PG_DSN says), for the tests that restart or stop a server: the shared one keeps
// serving the other tests meanwhile. Port: SAGAFLOW_TEST_PG_PORT (default 25432) + `offset`;
// folder: SAGAFLOW_TEST_PG_DIR (default <build>/test-servers/postgres) + "-" + `name`. Test
// programs that run side by side use different offsets and names. Stopped at the end.
class PrivateServer {
 public:
  explicit PrivateServer(int offset = 1, const std::string& name = "restart") {
    const char* port = std::getenv("SAGAFLOW_TEST_PG_PORT");
    const char* dir = std::getenv("SAGAFLOW_TEST_PG_DIR");
    port_ = (port != nullptr && *port != '\0' ? std::atoi(port) : 25432) + offset;
    dir_ = (dir != nullptr && *dir != '\0'
                ? std::string(dir)
                : std::string(SAGAFLOW_BINARY_DIR) + "/test-servers/postgres") +
           "-" + name;
    REQUIRE_MESSAGE(tool("start") == 0, "tools/test-pg start failed for " << dir_);
  }
  ~PrivateServer() { tool("stop"); }
  PrivateServer(const PrivateServer&) = delete;
  PrivateServer& operator=(const PrivateServer&) = delete;

  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=sagaflow user=sagaflow";
  }
  // tools/test-pg restart: a clean (fast) shutdown, every session ended, then a start.
  void restart() { REQUIRE_MESSAGE(tool("restart") == 0, "tools/test-pg restart failed"); }
  void stop() { REQUIRE_MESSAGE(tool("stop") == 0, "tools/test-pg stop failed"); }
  void start() { REQUIRE_MESSAGE(tool("start") == 0, "tools/test-pg start failed"); }

 private:
  int tool(const std::string& command) const {
    const std::string line =
        "env -u SAGAFLOW_TEST_PG_DSN SAGAFLOW_TEST_PG_PORT=" + std::to_string(port_) +
        " SAGAFLOW_TEST_PG_DIR='" + dir_ + "' '" + std::string(SAGAFLOW_SOURCE_DIR) +
        "/tools/test-pg' " + command;
    return std::system(line.c_str());
  }

  int port_ = 0;
  std::string dir_;
};

}  // namespace sagaflow::postgres::testing
