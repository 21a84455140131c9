#pragma once
// The payment service's HTTP API as a pure function of the request: no socket, no broker, so
// that tests call it directly (server.hpp puts it on the network).
//
//   POST /payments/webhook  the gateway's callback (PaymentsService::webhook_body): applies it
//                           and publishes payment.succeeded / payment.failed
//   GET  /payments/{id}     the payment
//   GET  /healthz           200 while the broker connection is up, else 503
//
// Every answer is JSON; an error is {"error": "<Code>", "message": "..."}.
#include <functional>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "sagaflow/sagas/payments.hpp"

namespace payments_service {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// What the API acts on. The payments service publishes through its event sink, which the
// embedding program wires to a rabbitmq::EventPublisher.
struct Backend {
  sagaflow::sagas::PaymentsService& payments;
  std::function<bool()> broker_connected;
};

// Webhook answers: 200 accepted (also a redelivery), 400 MalformedWebhook, 403 BadSignature,
// 404 UnknownPayment, 409 PaymentClosed / AlreadySucceeded, 415 for a body that is declared
// other than JSON, 422 AmountMismatch, 503 EventNotPublished. A gateway retries what is not
// 2xx; a retried webhook republishes the same event under the same id, so a 503 is mended by
// the gateway's next attempt.
Response handle_request(const Request& request, const Backend& backend);

// An error answer as handle_request makes them; the session uses it for what never reaches
// handle_request (a request too large or not HTTP).
Response error_response(http::status status, std::string_view code, std::string_view message,
                        unsigned version = 11, bool keep_alive = false);

}  // namespace payments_service
