#pragma once
// The admin API over the real engine: an Orchestrator with the in-memory store, a fake
// transport and a manual clock, the backend over them, and AdminApi. A test calls routes the
// way the server does and drives the orchestrator in between, one round at a time.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::http::testing {

using beast_http::field;
using beast_http::status;
using beast_http::verb;
using namespace std::chrono_literals;

// reserve (compensable) -> charge (the pivot) -> ship: a failure of ship parks the saga.
constexpr std::string_view kOrderV1 = R"(name: order
version: 1
input:
  n: integer
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: { n: $input.n } }
    output: { hold: $reply.hold }
    compensation: { service: stock, name: release, input: {} }
  - name: charge
    pivot: true
    irreversible: true
    command: { service: billing, name: charge, input: {} }
  - name: ship
    irreversible: true
    command: { service: shipping, name: ship, input: {} }
)";

// Version 2 tells the customer first.
constexpr std::string_view kOrderV2 = R"(name: order
version: 2
input:
  n: integer
steps:
  - name: notify
    irreversible: true
    command: { service: mail, name: send, input: {} }
  - name: reserve
    command: { service: stock, name: reserve, input: { n: $input.n } }
    output: { hold: $reply.hold }
    compensation: { service: stock, name: release, input: {} }
  - name: charge
    pivot: true
    irreversible: true
    command: { service: billing, name: charge, input: {} }
  - name: ship
    irreversible: true
    command: { service: shipping, name: ship, input: {} }
)";

inline std::shared_ptr<const flow::Flow> load(std::string_view yaml) {
  auto result = flow::load_flow_text(yaml, "test.yaml");
  for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
  REQUIRE(result.ok());
  return result.flow;
}

inline json::value body_of(const Response& res) {
  boost::system::error_code ec;
  auto v = json::parse(res.body(), ec);
  if (ec) FAIL("not JSON: " << res.body());
  return v;
}

// The error a response carries: {"error": {"code", "message"}}; checks the shape.
inline std::string error_code(const Response& res) {
  auto body = body_of(res);
  const auto* error = body.as_object().if_contains("error");
  REQUIRE(error != nullptr);
  REQUIRE(error->as_object().at("message").is_string());
  CHECK(res[field::content_type] == "application/json");
  return std::string(error->as_object().at("code").as_string());
}

// A posted flow's answer: its check runs on the checker's threads, so this polls in real time,
// as the server's timer does, until the answer or the check's budget is spent.
inline Response posted_flow_answer(Outcome outcome) {
  if (auto* response = std::get_if<Response>(&outcome)) return std::move(*response);
  auto& pending = std::get<Pending>(outcome);
  const auto deadline = std::chrono::steady_clock::now() + pending.timeout();
  for (;;) {
    if (auto response = pending.poll()) return std::move(*response);
    if (std::chrono::steady_clock::now() >= deadline) return pending.expire();
    std::this_thread::sleep_for(1ms);
  }
}

class ApiWorld {
 public:
  explicit ApiWorld(AdminOptions options = {}, bool with_flow = true)
      : orchestrator(flows, store, transport, clock,
                     OrchestratorOptions{.metrics = &metrics,
                                         .on_committed =
                                             [this](std::vector<SagaChange> committed) {
                                               changes.publish(std::move(committed));
                                             }}),
        backend(orchestrator, store, flows, clock, BackendHooks{.changes = &changes}),
        api(backend, std::move(options), &metrics) {
    transport.observer = &metrics;  // as sagaflowd gives the metrics to its transport
    if (with_flow) {
      flows.add(load(kOrderV1));
      store.save_flow_definition({"order", 1, std::string(kOrderV1), clock.now()});
    }
  }

  static Request request(verb method, std::string target, std::string body = {},
                         std::string_view token = {}) {
    Request req{method, target, 11};
    req.set(field::host, "localhost");
    if (!body.empty()) req.set(field::content_type, "application/json");
    if (!token.empty()) req.set(field::authorization, "Bearer " + std::string(token));
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  Outcome begin(const Request& req) { return api.handle_request(req); }

  // The answer, running the orchestrator between polls of a Pending; `between` runs after
  // each round (answering commands, say). A Pending still not answered after `rounds` rounds
  // expires, as the server's timer would have it.
  Response settle(Outcome outcome, const std::function<void()>& between = {}, int rounds = 20) {
    if (auto* response = std::get_if<Response>(&outcome)) return std::move(*response);
    auto& pending = std::get<Pending>(outcome);
    for (int i = 0; i < rounds; ++i) {
      orchestrator.run_once(0ms);
      if (auto response = pending.poll()) return std::move(*response);
      if (between) between();
    }
    return pending.expire();
  }

  Response posted(const Request& req) { return posted_flow_answer(begin(req)); }

  Response call(verb method, std::string target, std::string body = {},
                std::string_view token = {}) {
    return settle(begin(request(method, std::move(target), std::move(body), token)));
  }

  // The last command of `type` published; fails when there is none.
  Message command(std::string_view type) {
    for (auto it = transport.published.rbegin(); it != transport.published.rend(); ++it) {
      if (it->type == type) return *it;
    }
    FAIL("no command " << type << " was published");
    return {};
  }

  // Answers the last command of `type` (a saga's) and runs a round.
  void answer(std::string_view type, worker::Result result = worker::Result::ok(),
              std::string_view saga = {}) {
    for (auto it = transport.published.rbegin(); it != transport.published.rend(); ++it) {
      if (it->type == type && (saga.empty() || it->correlation_id == saga)) {
        transport.deliver(worker::make_reply(*it, result));
        orchestrator.run_once(0ms);
        return;
      }
    }
    FAIL("no command " << type << " to answer");
  }

  // Starts an order saga and returns its id (answered at once: no wait).
  std::string start(int n, std::string key = {}) {
    json::object body{{"flow", "order"}, {"input", {{"n", n}}}};
    if (!key.empty()) body["idempotency_key"] = key;
    auto res = call(verb::post, "/api/sagas", json::serialize(body));
    REQUIRE(res.result_int() / 100 == 2);
    return std::string(body_of(res).at("id").as_string());
  }

  // Runs an order saga to its end: every command answered with success.
  std::string complete(int n) {
    auto id = start(n);
    answer("stock.reserve", worker::Result::ok({{"hold", "h-" + std::to_string(n)}}), id);
    answer("billing.charge", worker::Result::ok(), id);
    answer("shipping.ship", worker::Result::ok(), id);
    return id;
  }

  std::string status_of(const std::string& id) {
    auto row = store.load(id);
    return row ? row->status : "missing";
  }

  FlowRegistry flows;
  sagaflow::testing::MemoryStore store;
  sagaflow::testing::FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  PrometheusMetrics metrics;
  SagaChangeFeed changes{100};
  Orchestrator orchestrator;
  AdminBackendImpl backend;
  AdminApi api;
};

}  // namespace sagaflow::http::testing
