// What every request is held to: the bearer token (and its constant-time compare), the JSON
// error body of every 4xx, unknown routes and wrong methods, health and readiness.
#include <doctest/doctest.h>

#include "api_world.hpp"
#include "sagaflow/http/wire.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {
constexpr std::string_view kToken = "admin-token-0123456789";
}  // namespace

TEST_CASE("without a token configured, every route answers without Authorization") {
  ApiWorld w;
  CHECK_FALSE(w.api.requires_token());
  CHECK(w.call(verb::get, "/api/sagas").result() == status::ok);
  CHECK(w.call(verb::get, "/metrics").result() == status::ok);
}

TEST_CASE("with a token, a request without it or with another gets 401 and a JSON error") {
  ApiWorld w({.token = std::string(kToken)});
  CHECK(w.api.requires_token());
  for (const char* target :
       {"/api/sagas", "/api/counts", "/api/flows", "/metrics", "/api/no/such/route"}) {
    CAPTURE(target);
    auto none = w.call(verb::get, target);
    CHECK(none.result() == status::unauthorized);
    CHECK(error_code(none) == "unauthorized");
    CHECK(none[field::www_authenticate] == "Bearer realm=\"sagaflow\"");
    auto wrong = w.call(verb::get, target, {}, "admin-token-0123456780");
    CHECK(wrong.result() == status::unauthorized);
    CHECK(wrong.body().find(kToken) == std::string::npos);
  }
  auto basic = ApiWorld::request(verb::get, "/api/sagas");
  basic.set(field::authorization, "Basic " + std::string(kToken));
  CHECK(w.settle(w.begin(basic)).result() == status::unauthorized);
  auto prefix = w.call(verb::get, "/api/sagas", {}, kToken.substr(0, 10));
  CHECK(prefix.result() == status::unauthorized);

  CHECK(w.call(verb::get, "/api/sagas", {}, kToken).result() == status::ok);
  auto lower = ApiWorld::request(verb::get, "/api/sagas");
  lower.set(field::authorization, "bearer " + std::string(kToken));
  CHECK(w.settle(w.begin(lower)).result() == status::ok);
}

TEST_CASE("with a token, /healthz and /readyz still answer without it") {
  ApiWorld w({.token = std::string(kToken)});
  auto health = w.call(verb::get, "/healthz");
  CHECK(health.result() == status::ok);
  CHECK(body_of(health) == json::parse(R"({"status": "ok"})"));
  CHECK(w.call(verb::get, "/readyz").result() == status::ok);
}

TEST_CASE("the token compare is right for equal, different, shorter and longer secrets") {
  CHECK(constant_time_equals("abcdef", "abcdef"));
  CHECK_FALSE(constant_time_equals("abcdeg", "abcdef"));
  CHECK_FALSE(constant_time_equals("bbcdef", "abcdef"));
  CHECK_FALSE(constant_time_equals("abc", "abcdef"));
  CHECK_FALSE(constant_time_equals("abcdefg", "abcdef"));
  CHECK_FALSE(constant_time_equals("", "abcdef"));
  CHECK_FALSE(constant_time_equals("", ""));  // no token never matches
  CHECK_FALSE(constant_time_equals(std::string_view("abc\0ef", 6), "abcdef"));
}

TEST_CASE("an unknown route is 404 and a wrong method 405 with Allow, both as JSON errors") {
  ApiWorld w;
  for (const char* target : {"/api", "/api/sagas/", "/api/sagas/x/y", "/api/flows/a/b", "/nope"}) {
    CAPTURE(target);
    auto res = w.call(verb::get, target);
    CHECK(res.result() == status::not_found);
    CHECK(error_code(res) == "not_found");
  }
  struct Case {
    verb method;
    const char* target;
    const char* allow;
  };
  for (const auto& c :
       {Case{verb::delete_, "/api/sagas", "GET, POST"}, Case{verb::put, "/api/sagas/abc", "GET"},
        Case{verb::get, "/api/sagas/abc/retry", "POST"}, Case{verb::post, "/api/counts", "GET"},
        Case{verb::get, "/api/flows/lint", "POST"}, Case{verb::post, "/healthz", "GET"},
        Case{verb::post, "/metrics", "GET"}}) {
    CAPTURE(c.target);
    auto res = w.call(c.method, c.target);
    CHECK(res.result() == status::method_not_allowed);
    CHECK(error_code(res) == "method_not_allowed");
    CHECK(res[field::allow] == c.allow);
  }
}

TEST_CASE("the errors the server makes before routing have the same JSON shape") {
  auto res = error_response(status::payload_too_large, "too_large", "too big", 11, false);
  CHECK(res.result() == status::payload_too_large);
  CHECK(error_code(res) == "too_large");
  CHECK_FALSE(res.keep_alive());
}

TEST_CASE("answers keep the request's HTTP version and keep-alive") {
  ApiWorld w;
  auto req = ApiWorld::request(verb::get, "/healthz");
  req.keep_alive(false);
  auto closing = w.settle(w.begin(req));
  CHECK_FALSE(closing.keep_alive());
  auto open = w.call(verb::get, "/healthz");
  CHECK(open.keep_alive());
}

namespace {

// A backend whose store and broker are down: readiness says which.
class DownBackend : public AdminBackend {
 public:
  std::future<StartResult> start(StartRequest) override { return {}; }
  std::future<void> cancel(std::string, std::string) override { return {}; }
  std::future<void> retry(std::string) override { return {}; }
  std::future<void> send_event(Message) override { return {}; }
  std::optional<SagaRow> saga(std::string_view) override { throw std::runtime_error("disk I/O"); }
  std::vector<HistoryRow> history(std::string_view) override { return {}; }
  std::vector<SagaRow> list(const SagaFilter&) override { throw std::runtime_error("disk I/O"); }
  std::vector<SagaCount> counts() override { return {}; }
  const FlowRegistry& flows() override { return flows_; }
  std::optional<std::string> flow_source(std::string_view, int) override { return {}; }
  DeployResult deploy(std::shared_ptr<const flow::Flow>, const std::string&) override { return {}; }
  Readiness readiness() override { return ready; }
  Readiness ready{.store = "disk I/O", .broker = "not connected"};
  Gauges gauges() override { return {}; }

 private:
  FlowRegistry flows_;
};

}  // namespace

TEST_CASE("/readyz is 503 naming what failed, a store that fails a read gives 503") {
  DownBackend backend;
  AdminApi api(backend, {});
  auto ready = std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/readyz")));
  CHECK(ready.result() == status::service_unavailable);
  CHECK(error_code(ready) == "unavailable");
  CHECK(body_of(ready).at("error").at("details") ==
        json::parse(R"({"store": "disk I/O", "broker": "not connected"})"));
  CHECK(body_of(ready).at("error").at("message") ==
        "not ready: store: disk I/O; broker: not connected");

  auto list = std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/api/sagas")));
  CHECK(list.result() == status::service_unavailable);
  CHECK(error_code(list) == "unavailable");

  CHECK(std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/healthz"))).result() ==
        status::ok);
}

TEST_CASE("/readyz says since when each server that does not answer is gone") {
  DownBackend backend;
  backend.ready.store = {};
  backend.ready.store_down_since = from_millis(1'700'000'000'000);  // up again: not shown
  backend.ready.broker_down_since = from_millis(1'800'000'000'000);
  AdminApi api(backend, {});
  auto ready = std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/readyz")));
  CHECK(ready.result() == status::service_unavailable);
  CHECK(body_of(ready).at("error").at("details") ==
        json::parse(R"({"store": "ok", "broker": "not connected",
                        "since": {"broker": "2027-01-15T08:00:00.000Z"}})"));
}

TEST_CASE("a backend that cannot serve yet gets 503 with its reason") {
  struct Starting final : DownBackend {
    std::vector<SagaRow> list(const SagaFilter&) override {
      throw NotServing("sagaflowd is starting; the broker is not ready: refused");
    }
  } backend;
  AdminApi api(backend, {});
  auto list = std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/api/sagas")));
  CHECK(list.result() == status::service_unavailable);
  CHECK(error_code(list) == "unavailable");
  CHECK(body_of(list).at("error").at("message") ==
        "sagaflowd is starting; the broker is not ready: refused");
}

TEST_CASE("the flow list says paused null when the backend cannot tell") {
  struct NoPausing final : DownBackend {
    const FlowRegistry& flows() override { return registry; }
    FlowRegistry registry;
  } backend;  // DownBackend serves no pausing: paused_flows() throws NotServing
  backend.registry.add(load(kOrderV1));
  AdminApi api(backend, {});
  auto res = std::get<Response>(api.handle_request(ApiWorld::request(verb::get, "/api/flows")));
  REQUIRE(res.result() == status::ok);
  const auto flows = body_of(res).at("flows").as_array();
  REQUIRE(flows.size() == 1);
  CHECK(flows[0].at("name") == "order");
  CHECK(flows[0].at("paused").is_null());
}

TEST_CASE("/readyz answers 200 with the store and the broker when both answer") {
  ApiWorld w;
  auto res = w.call(verb::get, "/readyz");
  CHECK(res.result() == status::ok);
  CHECK(body_of(res) == json::parse(R"({"store": "ok", "broker": "ok", "status": "ready"})"));
}

TEST_CASE("a JSON body that is not UTF-8 is a 400 giving the offset of the first bad byte") {
  ApiWorld w;
  const std::string body = "{\"flow\": \"order\", \"input\": {\"n\": \"caf\xc3\xa9 \xff\"}}";
  for (const char* target : {"/api/sagas", "/api/sagas/retry"}) {
    CAPTURE(target);
    auto res = w.call(verb::post, target, body);
    CHECK(res.result() == status::bad_request);
    CHECK(error_code(res) == "bad_request");
    const auto error = body_of(res).at("error");
    CHECK(error.at("details").at("offset") == body.find('\xff'));
    CHECK(std::string(error.at("message").as_string()).find(std::to_string(body.find('\xff'))) !=
          std::string::npos);
  }
  CHECK(w.store.list({}).empty());
}

TEST_CASE("error messages quoting the request escape its control characters") {
  ApiWorld w;
  auto unknown = w.call(verb::post, "/api/sagas", "{\"flow\": \"order\", \"\\u001b[2K\": 1}");
  CHECK(unknown.result() == status::bad_request);
  CHECK(unknown.body().find('\x1b') == std::string::npos);
  CHECK(body_of(unknown).at("error").at("message") == "unknown field '\\x1b[2K'");

  auto missing = w.call(verb::get, "/api/sagas/%1B%5B2K%C2%9B");
  CHECK(missing.result() == status::not_found);
  CHECK(body_of(missing).at("error").at("message") == "no saga \\x1b[2K\\xc2\\x9b");
}
