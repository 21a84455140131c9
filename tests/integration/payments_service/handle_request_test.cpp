// payments_service's HTTP API (examples/payments_service/http_api.hpp) as a pure function: no
// socket, no broker.
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include "http_api.hpp"

namespace payments_service {
namespace {

namespace json = boost::json;
using sagaflow::sagas::PaymentsService;

struct Fixture {
  PaymentsService payments;
  bool connected = true;
  Backend backend{payments, [this] { return connected; }};
  std::vector<sagaflow::Message> published;

  Fixture() {
    payments.open_payment("pay-1", 1500);
    payments.set_event_sink([this](sagaflow::Message m) { published.push_back(std::move(m)); });
  }

  Response send(http::verb method, std::string target, std::string body = {}) {
    Request request{method, target, 11};
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    request.prepare_payload();
    return handle_request(request, backend);
  }
  Response webhook(const std::string& id, const std::string& status, std::int64_t amount) {
    return send(http::verb::post, "/payments/webhook",
                PaymentsService::webhook_body(id, status, amount));
  }
};

json::object body_of(const Response& res) {
  REQUIRE(res[http::field::content_type] == "application/json");
  auto parsed = json::parse(res.body());
  REQUIRE(parsed.is_object());
  return parsed.as_object();
}

std::string error_of(const Response& res) {
  auto body = body_of(res);
  REQUIRE(body.contains("error"));
  return std::string(body.at("error").as_string());
}

TEST_CASE("an accepted webhook answers 200 and publishes the payment's event") {
  Fixture f;
  auto res = f.webhook("pay-1", "succeeded", 1500);
  REQUIRE(res.result() == http::status::ok);
  auto body = body_of(res);
  CHECK(body.at("accepted").as_bool());
  CHECK(body.at("event_type").as_string() == "payment.succeeded");
  CHECK(body.at("event_id").as_string() == "payment.succeeded/pay-1");
  CHECK_FALSE(body.at("duplicate").as_bool());
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].type == "payment.succeeded");
  CHECK(f.payments.payment("pay-1").status == PaymentsService::Status::succeeded);

  SUBCASE("the same webhook again republishes the same event") {
    auto again = f.webhook("pay-1", "succeeded", 1500);
    REQUIRE(again.result() == http::status::ok);
    CHECK(body_of(again).at("duplicate").as_bool());
    REQUIRE(f.published.size() == 2);
    CHECK(f.published[1].id == f.published[0].id);
  }
  SUBCASE("a failure reported after the success is a conflict") {
    auto late = f.webhook("pay-1", "failed", 1500);
    CHECK(late.result() == http::status::conflict);
    CHECK(error_of(late) == "AlreadySucceeded");
  }
}

TEST_CASE("a webhook that cannot be applied gets a 4xx with a JSON error and publishes nothing") {
  Fixture f;
  SUBCASE("malformed") {
    auto res = f.send(http::verb::post, "/payments/webhook", "{not json");
    CHECK(res.result() == http::status::bad_request);
    CHECK(error_of(res) == "MalformedWebhook");
  }
  SUBCASE("without its fields") {
    auto res = f.send(http::verb::post, "/payments/webhook", R"({"payment_id": "pay-1"})");
    CHECK(res.result() == http::status::bad_request);
    CHECK(error_of(res) == "MalformedWebhook");
  }
  SUBCASE("an unknown payment") {
    auto res = f.webhook("pay-404", "succeeded", 1500);
    CHECK(res.result() == http::status::not_found);
    CHECK(error_of(res) == "UnknownPayment");
  }
  SUBCASE("another amount") {
    auto res = f.webhook("pay-1", "succeeded", 1);
    CHECK(res.result() == http::status::unprocessable_entity);
    CHECK(error_of(res) == "AmountMismatch");
  }
  SUBCASE("a body declared as something else than JSON") {
    Request request{http::verb::post, "/payments/webhook", 11};
    request.set(http::field::content_type, "text/plain");
    request.body() = PaymentsService::webhook_body("pay-1", "succeeded", 1500);
    request.prepare_payload();
    auto res = handle_request(request, f.backend);
    CHECK(res.result() == http::status::unsupported_media_type);
    CHECK(error_of(res) == "UnsupportedMediaType");
  }
  CHECK(f.published.empty());
  CHECK(f.payments.payment("pay-1").status == PaymentsService::Status::pending);
}

TEST_CASE("a signed service refuses an unsigned webhook") {
  PaymentsService payments("https://pay.example.test/checkout/", "s3cret");
  payments.open_payment("pay-1", 1500);
  Backend backend{payments, [] { return true; }};
  Request request{http::verb::post, "/payments/webhook", 11};
  request.body() = PaymentsService::webhook_body("pay-1", "succeeded", 1500);
  request.prepare_payload();
  auto res = handle_request(request, backend);
  CHECK(res.result() == http::status::forbidden);
  CHECK(error_of(res) == "BadSignature");

  request.body() = PaymentsService::webhook_body("pay-1", "succeeded", 1500, "s3cret");
  request.prepare_payload();
  CHECK(handle_request(request, backend).result() == http::status::ok);
}

TEST_CASE("an event that cannot be published is a 503 the gateway's retry mends") {
  Fixture f;
  f.payments.set_event_sink([](sagaflow::Message) { throw std::runtime_error("not connected"); });
  auto res = f.webhook("pay-1", "succeeded", 1500);
  CHECK(res.result() == http::status::service_unavailable);
  CHECK(error_of(res) == "EventNotPublished");
  CHECK(res[http::field::retry_after] == "5");

  f.payments.set_event_sink([&f](sagaflow::Message m) { f.published.push_back(std::move(m)); });
  auto retry = f.webhook("pay-1", "succeeded", 1500);
  CHECK(retry.result() == http::status::ok);
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].id == "payment.succeeded/pay-1");
}

TEST_CASE("GET /payments/{id} answers the payment") {
  Fixture f;
  auto res = f.send(http::verb::get, "/payments/pay-1");
  REQUIRE(res.result() == http::status::ok);
  auto body = body_of(res);
  CHECK(body.at("payment_id").as_string() == "pay-1");
  CHECK(body.at("amount").as_int64() == 1500);
  CHECK(body.at("status").as_string() == "pending");

  f.webhook("pay-1", "failed", 1500);
  body = body_of(f.send(http::verb::get, "/payments/pay-1?fresh=1"));
  CHECK(body.at("status").as_string() == "failed");
  CHECK(body.at("failures").as_int64() == 1);

  auto unknown = f.send(http::verb::get, "/payments/pay-2");
  CHECK(unknown.result() == http::status::not_found);
  CHECK(error_of(unknown) == "UnknownPayment");
}

TEST_CASE("/healthz follows the broker connection") {
  Fixture f;
  auto up = f.send(http::verb::get, "/healthz");
  CHECK(up.result() == http::status::ok);
  CHECK(body_of(up).at("broker").as_string() == "connected");
  f.connected = false;
  auto down = f.send(http::verb::get, "/healthz");
  CHECK(down.result() == http::status::service_unavailable);
  CHECK(body_of(down).at("status").as_string() == "unavailable");
}

TEST_CASE("unknown routes are 404 and wrong methods 405, both in JSON") {
  Fixture f;
  for (const char* target : {"/", "/payments", "/payments/", "/payments/a/b", "/nope"}) {
    CAPTURE(target);
    auto res = f.send(http::verb::get, target);
    CHECK(res.result() == http::status::not_found);
    CHECK(error_of(res) == "NotFound");
  }
  auto get_webhook = f.send(http::verb::get, "/payments/webhook");
  CHECK(get_webhook.result() == http::status::method_not_allowed);
  CHECK(get_webhook[http::field::allow] == "POST");
  CHECK(error_of(get_webhook) == "MethodNotAllowed");
  auto delete_payment = f.send(http::verb::delete_, "/payments/pay-1");
  CHECK(delete_payment.result() == http::status::method_not_allowed);
  CHECK(delete_payment[http::field::allow] == "GET");
  CHECK(f.send(http::verb::post, "/healthz").result() == http::status::method_not_allowed);
}

TEST_CASE("answers keep the connection as the request asks") {
  Fixture f;
  Request request{http::verb::get, "/payments/pay-1", 11};
  CHECK(handle_request(request, f.backend).keep_alive());
  request.keep_alive(false);
  CHECK_FALSE(handle_request(request, f.backend).keep_alive());
}

}  // namespace
}  // namespace payments_service
