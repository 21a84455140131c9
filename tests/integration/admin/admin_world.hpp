#pragma once
// sagaflowd's embedded setup in one test process: the real orchestrator on a SQLite file, the
// in-process bus serving every example participant (with the demo's data), the flows of
// definitions/, and the admin endpoint on an ephemeral loopback port. Tests talk HTTP to it.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/http/server.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sagas/participants.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

namespace sagaflow::http::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using beast_http::field;
using beast_http::status;
using beast_http::verb;
using namespace std::chrono_literals;

inline std::filesystem::path temp_db() {
  std::random_device random;
  return std::filesystem::temp_directory_path() /
         ("sagaflow-admin-" + std::to_string(random()) + ".db");
}

class AdminWorld {
 public:
  explicit AdminWorld(ServerOptions server_options = {}, AdminOptions admin_options = {})
      : db_path(temp_db()),
        guard(asio::make_work_guard(workers)),
        worker_thread([this] { workers.run(); }),
        bus(workers),
        store(sqlite::SqliteOptions{.path = db_path.string()}) {
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(SAGAFLOW_SOURCE_DIR) / "definitions")) {
      if (entry.path().extension() != ".yaml") continue;  // definitions/tests/: case files
      auto loaded = load_flow_file(entry.path().string(), store, flows, clock.now());
      REQUIRE_MESSAGE(loaded.flow, entry.path().string());
    }
    for (const auto& plan : flows.all()) {
      for (const auto& event : plan->listened_events()) bus.route_events_to_orchestrator(event);
    }
    sagas::seed_demo_data(participants);
    participants.for_each_service(
        [&](const std::string& service, worker::Dispatcher& d) { bus.serve(service, d); });
    participants.for_each_subscription(
        [&](const std::string& type, auto handler) { bus.subscribe(type, std::move(handler)); });
    participants.set_event_sink([this](Message event) { bus.publish_event(std::move(event)); });

    OrchestratorOptions options;
    options.metrics = &metrics;
    options.on_committed = [this](std::vector<SagaChange> committed) {
      changes.publish(std::move(committed));
    };
    orchestrator = std::make_unique<Orchestrator>(flows, store, bus.orchestrator(), clock, options);
    orchestrator_thread = std::jthread([this](std::stop_token stop) { orchestrator->run(stop); });

    BackendHooks hooks;
    hooks.send_event = [this](Message event) { return bus.send_outside_event(std::move(event)); };
    hooks.prepare_deploy = [this](const Plan& plan) {
      return bus.declare_for_deploy(plan.services(), plan.listened_events());
    };
    hooks.changes = &changes;
    backend = std::make_unique<AdminBackendImpl>(*orchestrator, store, flows, clock, hooks);
    api = std::make_unique<AdminApi>(*backend, std::move(admin_options), &metrics);
    server_options.address = "127.0.0.1";
    server_options.port = 0;
    server = std::make_unique<AdminServer>(http_io, *api, server_options);
    server->start();
    http_thread = std::thread([this] { http_io.run(); });
  }

  ~AdminWorld() {
    server->stop();
    http_io.stop();
    http_thread.join();
    orchestrator_thread.request_stop();
    orchestrator_thread.join();
    participants.set_event_sink({});
    guard.reset();
    workers.stop();
    worker_thread.join();
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(db_path.string() + suffix, ec);
    }
  }

  tcp::endpoint endpoint() const { return server->endpoint(); }

  std::filesystem::path db_path;
  asio::io_context workers;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread worker_thread;
  inproc::Bus bus;
  sqlite::SqliteStore store;
  SystemClock clock;
  FlowRegistry flows;
  sagas::Participants participants;
  PrometheusMetrics metrics;
  SagaChangeFeed changes;
  std::unique_ptr<Orchestrator> orchestrator;
  std::jthread orchestrator_thread;
  std::unique_ptr<AdminBackendImpl> backend;
  std::unique_ptr<AdminApi> api;
  asio::io_context http_io;
  std::unique_ptr<AdminServer> server;
  std::thread http_thread;
};

// ---------------------------------------------------------------------------------------------
// A blocking HTTP/1.1 client that keeps its connection.

class Client {
 public:
  explicit Client(const tcp::endpoint& endpoint) : socket_(io_) {
    socket_.connect(endpoint);
    // A test never hangs on a server that does not answer.
    struct timeval tv {
      10, 0
    };
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  Response send(Request req) {
    req.set(field::host, "127.0.0.1");
    req.prepare_payload();
    beast_http::write(socket_, req);
    return receive();
  }

  Response receive() {
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    beast_http::read(socket_, buffer_, parser);
    return parser.release();
  }

  Response request(verb method, const std::string& target, std::string body = {}) {
    Request req{method, target, 11};
    if (!body.empty()) req.set(field::content_type, "application/json");
    req.body() = std::move(body);
    return send(std::move(req));
  }

  // Whether the server closed the connection: a read returns end of file (or a reset).
  bool closed_by_server() {
    char byte = 0;
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  tcp::socket& socket() { return socket_; }
  boost::beast::flat_buffer& buffer() { return buffer_; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// The body of a start of user_registration (which the example participants complete) for a new
// user; `extra` adds fields (", \"wait\": ...").
inline std::string registration(const std::string& user, std::string_view extra = {}) {
  return R"({"flow": "user_registration", "input": {"user_id": ")" + user + R"(", "username": ")" +
         user + R"(", "email": ")" + user + R"(@example.test"})" + std::string(extra) + "}";
}

inline json::value body_of(const Response& res) {
  boost::system::error_code ec;
  auto v = json::parse(res.body(), ec);
  if (ec) FAIL("not JSON: " << res.body());
  return v;
}

}  // namespace sagaflow::http::testing
