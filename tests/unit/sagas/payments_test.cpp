// The payment participant: create and cancel through its typed contracts, and the gateway's
// webhook publishing payment.succeeded / payment.failed through its EventSink.
#include <doctest/doctest.h>

#include "sagaflow/sagas/payments.hpp"

using namespace sagaflow;
using Status = sagas::PaymentsService::Status;
using sagas::PaymentsService;

namespace {

struct Payments {
  explicit Payments(std::string secret = {})
      : service("https://pay.test/checkout/", std::move(secret)) {
    service.register_handlers(dispatcher);
    service.set_event_sink([this](Message m) { sunk.push_back(std::move(m)); });
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    Message m;
    m.id = key + "/1";
    m.idempotency_key = key;
    m.type = type;
    m.body = json::serialize(payload);
    return dispatcher.handle(m);
  }
  Message create(const std::string& reference, std::int64_t amount, const std::string& key) {
    return send("payments.create",
                json::object{{"reference", reference}, {"booking_id", "bk-1"}, {"amount", amount}},
                key);
  }
  std::string create_ok(const std::string& reference, std::int64_t amount, const std::string& key) {
    auto reply = create(reference, amount, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(json::parse(reply.body).at("payment_id").as_string());
  }
  Message cancel(const std::string& reference, const std::string& key) {
    return send("payments.cancel", json::object{{"reference", reference}}, key);
  }
  PaymentsService::WebhookResult webhook(const std::string& id, const std::string& status,
                                         std::int64_t amount) {
    return service.handle_webhook(PaymentsService::webhook_body(id, status, amount));
  }
  PaymentsService service;
  worker::Dispatcher dispatcher;
  std::vector<Message> sunk;
};

}  // namespace

TEST_CASE("payments: create opens a pending payment with the gateway page to redirect to") {
  Payments p;
  auto reply = p.create("s1", 1500, "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto body = json::parse(reply.body);
  auto id = std::string(body.at("payment_id").as_string());
  CHECK(body.at("redirect_url") == json::value("https://pay.test/checkout/" + id));
  CHECK(body.at("status") == "pending");
  CHECK(body.at("amount") == 1500);
  CHECK(p.service.payment(id).status == Status::pending);
  CHECK(p.service.payment_by_reference("s1").payment_id == id);
  CHECK(p.create("s2", 0, "k2").error_code == "InvalidAmount");
  CHECK(p.service.ledger().size() == 1);
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: a create repeated by key or by reference opens one payment") {
  Payments p;
  auto first = p.create("s1", 1500, "s1/create_payment/do");
  auto same_key = p.create("s1", 1500, "s1/create_payment/do");
  auto same_reference = p.create("s1", 1500, "other");
  CHECK(first.body == same_key.body);
  CHECK(json::parse(first.body).at("payment_id") ==
        json::parse(same_reference.body).at("payment_id"));
  CHECK(p.service.payments().size() == 1);
  CHECK(p.service.ledger().size() == 1);
  CHECK(p.create("s1", 99, "k9").error_code == "ReferenceReused");
}

TEST_CASE("payments: a succeeded webhook publishes payment.succeeded once, under a stable id") {
  Payments p;
  auto id = p.create_ok("s1", 1500, "k1");
  auto r = p.webhook(id, "succeeded", 1500);
  CHECK(r.accepted);
  CHECK_FALSE(r.duplicate);
  CHECK(r.event_type == "payment.succeeded");
  CHECK(r.event_id == "payment.succeeded/" + id);
  REQUIRE(p.sunk.size() == 1);
  CHECK(p.sunk[0].kind == MessageKind::event);
  CHECK(p.sunk[0].type == "payment.succeeded");
  CHECK(p.sunk[0].id == r.event_id);
  auto body = json::parse(p.sunk[0].body);
  CHECK(body.at("payment_id") == json::value(id));
  CHECK(body.at("amount") == 1500);
  CHECK(body.at("booking_id") == "bk-1");
  CHECK(p.service.payment(id).status == Status::succeeded);

  // The gateway delivers the webhook again: the same event under the same id, applied once.
  auto again = p.webhook(id, "succeeded", 1500);
  CHECK(again.accepted);
  CHECK(again.duplicate);
  REQUIRE(p.sunk.size() == 2);
  CHECK(p.sunk[1].id == p.sunk[0].id);
  // A payment that succeeded does not fail afterwards.
  CHECK(p.webhook(id, "failed", 1500).error == "AlreadySucceeded");
  CHECK(p.sunk.size() == 2);
  CHECK(p.service.payment(id).status == Status::succeeded);
  CHECK(p.service.ledger().size() == 2);  // create, succeeded
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: a failed payment may be paid again and then succeeds") {
  Payments p;
  auto id = p.create_ok("s1", 700, "k1");
  auto failed = p.webhook(id, "failed", 700);
  CHECK(failed.accepted);
  CHECK(failed.event_type == "payment.failed");
  CHECK(failed.event_id == "payment.failed/" + id + "/1");
  CHECK(p.service.payment(id).status == Status::failed);
  CHECK(p.service.payment(id).failures == 1);
  CHECK(p.webhook(id, "failed", 700).duplicate);  // a redelivery: the same event again
  CHECK(p.service.payment(id).failures == 1);
  auto paid = p.webhook(id, "succeeded", 700);
  CHECK(paid.accepted);
  CHECK_FALSE(paid.duplicate);
  CHECK(p.service.payment(id).status == Status::succeeded);
  REQUIRE(p.sunk.size() == 3);
  CHECK(p.sunk[0].type == "payment.failed");
  CHECK(p.sunk[1].id == p.sunk[0].id);
  CHECK(p.sunk[2].type == "payment.succeeded");
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: a webhook it cannot process is logged; the payment stays pending") {
  Payments p;
  auto id = p.create_ok("s1", 1500, "k1");
  CHECK(p.service.handle_webhook("{not json").error == "MalformedWebhook");
  CHECK(p.service.handle_webhook("[1,2]").error == "MalformedWebhook");
  CHECK(p.service.handle_webhook(R"({"payment_id":")" + id + R"(","status":"succeeded"})").error ==
        "MalformedWebhook");  // no amount
  CHECK(p.service.handle_webhook(R"({"payment_id":")" + id + R"(","status":"paid","amount":1500})")
            .error == "MalformedWebhook");  // an unknown status
  CHECK(
      p.service
          .handle_webhook(R"({"payment_id":")" + id + R"(","status":"succeeded","amount":"1500"})")
          .error == "MalformedWebhook");  // a string amount
  CHECK(p.webhook("pay-404", "succeeded", 1500).error == "UnknownPayment");
  auto mismatch = p.webhook(id, "succeeded", 1);
  CHECK_FALSE(mismatch.accepted);
  CHECK(mismatch.error == "AmountMismatch");
  CHECK(mismatch.payment_id == id);
  CHECK(p.sunk.empty());
  CHECK(p.service.published().empty());
  CHECK(p.service.payment(id).status == Status::pending);
  auto log = p.service.rejected_webhooks();
  REQUIRE(log.size() == 7);
  CHECK(log[0].body == "{not json");
  CHECK(log[6].error == "AmountMismatch");
  CHECK(p.service.ledger().size() == 1);
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: with a secret, only webhooks signed by the gateway are accepted") {
  Payments p("s3cret");
  auto id = p.create_ok("s1", 1500, "k1");
  CHECK(p.webhook(id, "succeeded", 1500).error == "BadSignature");  // unsigned
  CHECK(p.service.handle_webhook(PaymentsService::webhook_body(id, "succeeded", 1500, "guess"))
            .error == "BadSignature");
  CHECK(p.service.payment(id).status == Status::pending);
  auto signed_body = PaymentsService::webhook_body(id, "succeeded", 1500, "s3cret");
  CHECK(p.service.handle_webhook(signed_body).accepted);
  CHECK(p.service.payment(id).status == Status::succeeded);
  CHECK(PaymentsService::sign("s3cret", id, "succeeded", 1500) !=
        PaymentsService::sign("s3cret", id, "failed", 1500));
}

TEST_CASE("payments: cancel closes a pending or failed payment; later webhooks are ignored") {
  Payments p;
  auto nothing = p.cancel("never", "k0");
  CHECK(nothing.outcome == ReplyOutcome::success);
  CHECK(json::parse(nothing.body).at("done") == false);

  auto id = p.create_ok("s1", 300, "k1");
  auto cancelled = p.cancel("s1", "k2");
  CHECK(json::parse(cancelled.body).at("done") == true);
  CHECK(json::parse(cancelled.body).at("status") == "cancelled");
  CHECK(json::parse(p.cancel("s1", "k3").body).at("done") == false);
  CHECK(p.webhook(id, "succeeded", 300).error == "PaymentClosed");
  CHECK(p.service.payment(id).status == Status::cancelled);
  CHECK(p.sunk.empty());

  auto id2 = p.create_ok("s2", 300, "k4");
  p.webhook(id2, "failed", 300);
  CHECK(json::parse(p.cancel("s2", "k5").body).at("done") == true);
  CHECK(p.service.payment(id2).status == Status::cancelled);
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: cancelling a payment that succeeded refunds it, once") {
  Payments p;
  auto id = p.create_ok("s1", 300, "k1");
  p.webhook(id, "succeeded", 300);
  auto refund = p.cancel("s1", "k2");
  CHECK(json::parse(refund.body).at("done") == true);
  CHECK(json::parse(refund.body).at("status") == "refunded");
  CHECK(json::parse(p.cancel("s1", "k3").body).at("done") == false);
  CHECK(p.service.payment(id).status == Status::refunded);
  auto kinds = std::vector<std::string>{};
  for (const auto& e : p.service.ledger()) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"create", "succeeded", "refund"});
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: without a sink the events are still kept in published()") {
  PaymentsService service;
  worker::Dispatcher dispatcher;
  service.register_handlers(dispatcher);
  Message m;
  m.id = "k1/1";
  m.idempotency_key = "k1";
  m.type = "payments.create";
  m.body = R"({"reference":"s1","booking_id":"bk-1","amount":10})";
  auto reply = dispatcher.handle(m);
  auto id = std::string(json::parse(reply.body).at("payment_id").as_string());
  CHECK(service.handle_webhook(PaymentsService::webhook_body(id, "succeeded", 10)).accepted);
  REQUIRE(service.published().size() == 1);
  CHECK(service.published()[0].type == "payment.succeeded");
}
