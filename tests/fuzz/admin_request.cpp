// Fuzz target: the admin endpoint's request handling (adapters/http), as the server drives it.
// The input is what a client sends on one connection: Beast's parser reads requests from it
// with the server's limits, and each request whole goes to AdminApi::handle_request, over the
// real orchestrator with the fakes of engine/testing (flow `shipment` v1 deployed, a token
// configured); an answer that waits (the orchestrator's commit, a start's `wait`, a posted
// flow's check) is polled until its deadline, then expired, as the server does. Every answer must
// be an HTTP status below 500 (the fakes never fail), every JSON body and every log line valid
// JSON.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/http/server.hpp"
#include "sagaflow/json.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"

namespace {

namespace http = sagaflow::http;
namespace json = sagaflow::json;
namespace beast_http = boost::beast::http;
using namespace std::chrono_literals;

// The seeds in corpus/admin_request/ carry this token.
constexpr std::string_view kToken = "fuzz-token";
constexpr std::size_t kMaxRequests = 8;  // per connection: enough for start, then cancel...
// Waits short enough for libFuzzer's 2 s timeout: a start's `wait` ends in 20 ms.
const http::AdminOptions kOptions{.token = std::string(kToken),
                                  .commit_timeout = 1'000ms,
                                  .default_wait = 20ms,
                                  .max_wait = 20ms};

// Every kind of step, so that starts reach each of the engine's paths.
constexpr std::string_view kFlow = R"(name: shipment
version: 1
timeout: 1h
input:
  lines: array
  key: string
steps:
  - name: book
    command: { service: carrier, name: book, input: { key: $input.key } }
    output: { booking: $reply.booking_id }
    retry: { max_attempts: 3, initial_delay: 100ms }
    compensation: { service: carrier, name: unbook, input: { booking: $steps.book.booking } }
  - name: label_lines
    foreach:
      items: $input.lines
      command: { service: labels, name: print, input: { line: $item.id } }
    output: { label: $reply.label }
    irreversible: true
  - name: booked
    when: $steps.book.booking != null
    publish: { event: shipment.booked, payload: { booking: $steps.book.booking } }
  - name: picked_up
    pivot: true
    wait:
      events: [carrier.picked_up]
      correlate: $input.key
      key: $event.key
      timeout: 30m
)";

void check(bool holds) {
  if (!holds) std::abort();  // a broken promise of the endpoint: libFuzzer keeps the input
}

bool is_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

const std::shared_ptr<const sagaflow::flow::Flow>& shipment_flow() {
  static const auto flow = [] {
    auto result = sagaflow::flow::load_flow_text(kFlow, "shipment.yaml");
    check(result.ok());
    return result.flow;
  }();
  return flow;
}

// A fresh daemon per input, so that an input found replays alone.
struct World {
  World()
      : orchestrator(flows, store, transport, clock),
        backend(orchestrator, store, flows, clock),
        api(backend, kOptions, &metrics) {
    flows.add(shipment_flow());
    store.save_flow_definition({"shipment", 1, std::string(kFlow), clock.now()});
  }

  // As the server: polled until the answer's own deadline, then expired. The orchestrator runs
  // a round between polls; its clock stands still, so a start's `wait` is answered by expiry.
  http::Response settle(http::Outcome outcome) {
    if (auto* response = std::get_if<http::Response>(&outcome)) return std::move(*response);
    auto& pending = std::get<http::Pending>(outcome);
    const auto deadline = std::chrono::steady_clock::now() + pending.timeout();
    while (std::chrono::steady_clock::now() < deadline) {
      orchestrator.run_once(0ms);
      if (auto response = pending.poll()) return std::move(*response);
      std::this_thread::sleep_for(100us);
    }
    return pending.expire();
  }

  sagaflow::FlowRegistry flows;
  sagaflow::testing::MemoryStore store;
  sagaflow::testing::FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  http::PrometheusMetrics metrics;
  sagaflow::Orchestrator orchestrator;
  http::AdminBackendImpl backend;
  http::AdminApi api;
};

void check_response(const http::Response& response) {
  check(response.result_int() >= 100 && response.result_int() < 500);
  if (response[beast_http::field::content_type] == "application/json") {
    check(is_json(response.body()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sagaflow::log::set_sink([](std::string_view line) { check(is_json(line)); });
  shipment_flow();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const http::ServerOptions limits;
  World world;
  for (std::size_t n = 0; n < kMaxRequests && !input.empty(); ++n) {
    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && !input.empty()) {
      const auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec) break;
    }
    if (ec == beast_http::error::need_more || (!ec && !parser.is_done())) {
      ec = {};
      parser.put_eof(ec);  // the client closed its side
    }
    if (ec || !parser.is_done()) return 0;  // the server answers these itself, then closes
    const auto& request = parser.get();
    check_response(world.settle(world.api.handle_request(request)));
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
