#include "http_api.hpp"

#include <exception>
#include <string>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

namespace payments_service {
namespace {

namespace json = boost::json;
using sagaflow::sagas::PaymentsService;

constexpr std::string_view kServer = "sagaflow-payments-service";
constexpr std::string_view kPaymentsPrefix = "/payments/";

Response json_response(http::status status, const json::value& body, const Request& request) {
  Response res{status, request.version()};
  res.set(http::field::server, kServer);
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(request.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

Response error(http::status status, std::string_view code, std::string_view message,
               const Request& request) {
  return error_response(status, code, message, request.version(), request.keep_alive());
}

Response method_not_allowed(std::string_view allowed, const Request& request) {
  auto res = error(http::status::method_not_allowed, "MethodNotAllowed",
                   std::string(request.method_string()) + " is not allowed here", request);
  res.set(http::field::allow, allowed);
  return res;
}

// The webhook's rejection codes (PaymentsService::WebhookResult::error) as HTTP statuses.
http::status webhook_status(std::string_view error) {
  if (error == "UnknownPayment") return http::status::not_found;
  if (error == "BadSignature") return http::status::forbidden;
  if (error == "AmountMismatch") return http::status::unprocessable_entity;
  if (error == "PaymentClosed" || error == "AlreadySucceeded") return http::status::conflict;
  return http::status::bad_request;
}

bool declared_json(const Request& request) {
  auto type = request[http::field::content_type];
  if (type.empty()) return true;  // gateways that send none are still understood
  auto media = type.substr(0, type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media.size() == 16 && boost::beast::iequals(media, "application/json");
}

Response webhook(const Request& request, const Backend& backend) {
  if (!declared_json(request)) {
    return error(http::status::unsupported_media_type, "UnsupportedMediaType",
                 "the webhook body must be application/json", request);
  }
  PaymentsService::WebhookResult result;
  try {
    result = backend.payments.handle_webhook(request.body());
  } catch (const std::exception& e) {
    // The payment is updated but its event is not out. The gateway's retry republishes it
    // under the same id; rabbitmq::Error texts carry no password.
    auto res = error(http::status::service_unavailable, "EventNotPublished", e.what(), request);
    res.set(http::field::retry_after, "5");
    return res;
  }
  if (!result.accepted) {
    return error(webhook_status(result.error), result.error,
                 result.payment_id.empty()
                     ? "webhook rejected"
                     : "webhook for payment " + result.payment_id + " rejected",
                 request);
  }
  return json_response(http::status::ok,
                       json::object{{"accepted", true},
                                    {"payment_id", result.payment_id},
                                    {"event_type", result.event_type},
                                    {"event_id", result.event_id},
                                    {"duplicate", result.duplicate}},
                       request);
}

Response payment(std::string_view id, const Request& request, const Backend& backend) {
  auto p = backend.payments.payment(std::string(id));
  if (p.payment_id.empty()) {
    return error(http::status::not_found, "UnknownPayment", "no payment " + std::string(id),
                 request);
  }
  return json_response(http::status::ok,
                       json::object{{"payment_id", p.payment_id},
                                    {"reference", p.reference},
                                    {"booking_id", p.booking_id},
                                    {"amount", p.amount},
                                    {"status", PaymentsService::to_string(p.status)},
                                    {"failures", p.failures},
                                    {"covered", p.covered}},
                       request);
}

Response healthz(const Request& request, const Backend& backend) {
  const bool up = backend.broker_connected && backend.broker_connected();
  return json_response(up ? http::status::ok : http::status::service_unavailable,
                       json::object{{"status", up ? "ok" : "unavailable"},
                                    {"broker", up ? "connected" : "disconnected"}},
                       request);
}

}  // namespace

Response error_response(http::status status, std::string_view code, std::string_view message,
                        unsigned version, bool keep_alive) {
  Response res{status, version};
  res.set(http::field::server, kServer);
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = json::serialize(json::object{{"error", code}, {"message", message}});
  res.prepare_payload();
  return res;
}

// ------------------------------------------------------------------------------------------------
// Routing

Response handle_request(const Request& request, const Backend& backend) {
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));  // no route takes a query; one is ignored
  const auto method = request.method();

  if (path == "/healthz") {
    if (method != http::verb::get) return method_not_allowed("GET", request);
    return healthz(request, backend);
  }
  if (path == "/payments/webhook") {
    if (method != http::verb::post) return method_not_allowed("POST", request);
    return webhook(request, backend);
  }
  if (path.starts_with(kPaymentsPrefix)) {
    auto id = path.substr(kPaymentsPrefix.size());
    if (!id.empty() && id.find('/') == std::string_view::npos) {
      if (method != http::verb::get) return method_not_allowed("GET", request);
      return payment(id, request, backend);
    }
  }
  return error(http::status::not_found, "NotFound", "no route for " + std::string(path), request);
}

}  // namespace payments_service
