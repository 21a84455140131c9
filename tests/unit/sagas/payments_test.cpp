// The payment participant: create and cancel through its typed contracts, the gateway's
// webhook publishing payment.succeeded / payment.failed through its EventSink, and certificate
// tenders applied to and removed from a payment.
#include <doctest/doctest.h>

#include <stdexcept>

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
  Message apply(const std::string& payment, std::int64_t amount, const std::string& reference,
                const std::string& key) {
    return send("payments.apply_certificate",
                json::object{{"payment_id", payment}, {"amount", amount}, {"reference", reference}},
                key);
  }
  Message remove(const std::string& payment, const std::string& reference, const std::string& key) {
    return send("payments.remove_certificate",
                json::object{{"payment_id", payment}, {"reference", reference}}, key);
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

TEST_CASE("payments: a webhook it cannot process is logged, the payment stays pending") {
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

TEST_CASE("payments: cancel closes a pending or failed payment, later webhooks are ignored") {
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

TEST_CASE("payments: open_payment sets up a pending payment that exists before any saga") {
  Payments p;
  p.service.open_payment("pay-501", 2'000);
  auto opened = p.service.payment("pay-501");
  CHECK(opened.status == Status::pending);
  CHECK(opened.amount == 2'000);
  CHECK(opened.covered == 0);
  CHECK_THROWS_AS(p.service.open_payment("pay-501", 10), std::invalid_argument);
  CHECK_THROWS_AS(p.service.open_payment("pay-x", 0), std::invalid_argument);
  // Its id is never handed out again by create.
  p.service.open_payment("pay-1", 100);
  auto created = p.create_ok("s1", 300, "k1");
  CHECK(created != "pay-1");
  CHECK(p.service.payment("pay-1").amount == 100);
  CHECK(p.service.ledger().size() == 3);  // open, open, create
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: apply_certificate covers part of what remains to pay") {
  Payments p;
  p.service.open_payment("pay-1", 2'000);
  auto first = p.apply("pay-1", 1'200, "auth-1", "s1/apply_certificate/do");
  REQUIRE(first.outcome == ReplyOutcome::success);
  auto body = json::parse(first.body);
  CHECK(body.at("payment_id") == "pay-1");
  CHECK(body.at("reference") == "auth-1");
  CHECK(body.at("amount") == 1'200);
  CHECK(body.at("covered") == 1'200);
  CHECK(body.at("outstanding") == 800);
  // A second certificate may cover the rest, not more.
  CHECK(p.apply("pay-1", 801, "auth-2", "s2/apply_certificate/do").error_code ==
        "AmountExceedsOutstanding");
  auto rest = p.apply("pay-1", 800, "auth-2", "s3/apply_certificate/do");
  REQUIRE(rest.outcome == ReplyOutcome::success);
  CHECK(json::parse(rest.body).at("outstanding") == 0);
  CHECK(p.apply("pay-1", 1, "auth-3", "s4/apply_certificate/do").error_code ==
        "AmountExceedsOutstanding");
  CHECK(p.service.payment("pay-1").covered == 2'000);
  CHECK(p.service.tender("pay-1", "auth-1").amount == 1'200);
  auto kinds = std::vector<std::string>{};
  for (const auto& e : p.service.ledger()) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"open", "apply_certificate", "apply_certificate"});
  CHECK(p.service.ledger()[1].command_id == "s1/apply_certificate/do");
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: apply_certificate refuses an unknown, closed or malformed payment") {
  Payments p;
  CHECK(p.apply("pay-404", 100, "auth-1", "k1").error_code == "UnknownPayment");
  p.service.open_payment("pay-1", 1'000);
  CHECK(p.apply("pay-1", 0, "auth-1", "k2").error_code == "InvalidAmount");
  CHECK(p.apply("pay-1", -5, "auth-1", "k3").error_code == "InvalidAmount");
  CHECK(p.apply("pay-1", 100, "", "k4").error_code == "MissingReference");
  CHECK(p.send("payments.apply_certificate", json::object{{"payment_id", "pay-1"}}, "k5")
            .error_code == "MalformedPayload");
  CHECK(p.apply("pay-1", 1'001, "auth-1", "k6").outcome == ReplyOutcome::business_failure);

  // A cancelled payment takes no tender.
  auto cancelled = p.create_ok("s1", 500, "c1");
  p.cancel("s1", "c2");
  CHECK(p.apply(cancelled, 100, "auth-2", "k7").error_code == "PaymentClosed");
  // Nor does a refunded one.
  auto refunded = p.create_ok("s2", 500, "c3");
  p.webhook(refunded, "succeeded", 500);
  p.cancel("s2", "c4");
  CHECK(p.service.payment(refunded).status == Status::refunded);
  CHECK(p.apply(refunded, 100, "auth-3", "k8").error_code == "PaymentClosed");
  for (const auto& e : p.service.ledger()) CHECK(e.kind != "apply_certificate");
  CHECK(p.service.payment("pay-1").covered == 0);
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: apply_certificate repeated by key or by reference covers once") {
  Payments p;
  p.service.open_payment("pay-1", 2'000);
  auto first = p.apply("pay-1", 1'200, "auth-1", "s1/apply_certificate/do");
  auto same_key = p.apply("pay-1", 1'200, "auth-1", "s1/apply_certificate/do");
  auto same_reference = p.apply("pay-1", 1'200, "auth-1", "resent");
  CHECK(first.body == same_key.body);
  CHECK(same_reference.outcome == ReplyOutcome::success);
  CHECK(json::parse(same_reference.body).at("covered") == 1'200);
  CHECK(p.apply("pay-1", 500, "auth-1", "k9").error_code == "ReferenceReused");
  CHECK(p.service.payment("pay-1").covered == 1'200);
  std::size_t applied = 0;
  for (const auto& e : p.service.ledger()) applied += e.kind == "apply_certificate";
  CHECK(applied == 1);
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: remove_certificate undoes a tender once, removing nothing is done=false") {
  Payments p;
  p.service.open_payment("pay-1", 2'000);
  // Nothing to remove: an unknown payment, a tender never applied.
  auto unknown = p.remove("pay-404", "auth-1", "u0");
  CHECK(unknown.outcome == ReplyOutcome::success);
  CHECK(json::parse(unknown.body).at("done") == false);
  auto never = p.remove("pay-1", "auth-9", "u1");
  CHECK(never.outcome == ReplyOutcome::success);
  CHECK(json::parse(never.body).at("done") == false);
  CHECK(json::parse(never.body).at("outstanding") == 2'000);
  // The apply that arrives after its compensation is refused, not applied.
  CHECK(p.apply("pay-1", 100, "auth-9", "late").error_code == "TenderRemoved");

  p.apply("pay-1", 1'200, "auth-1", "s1/apply_certificate/do");
  auto removed = p.remove("pay-1", "auth-1", "s1/apply_certificate/undo");
  auto body = json::parse(removed.body);
  CHECK(body.at("done") == true);
  CHECK(body.at("amount") == 1'200);
  CHECK(body.at("outstanding") == 2'000);
  CHECK(p.service.payment("pay-1").covered == 0);
  CHECK(p.service.tender("pay-1", "auth-1").status == PaymentsService::TenderStatus::removed);
  // Again, under the same key (the dispatcher answers) or another: removed once.
  CHECK(p.remove("pay-1", "auth-1", "s1/apply_certificate/undo").body == removed.body);
  CHECK(json::parse(p.remove("pay-1", "auth-1", "other").body).at("done") == false);
  auto kinds = std::vector<std::string>{};
  for (const auto& e : p.service.ledger()) kinds.push_back(e.kind);
  CHECK(kinds == std::vector<std::string>{"open", "apply_certificate", "remove_certificate"});
  CHECK(p.service.invariant_holds());
}

TEST_CASE("payments: a tender is still removed from a payment closed after it was applied") {
  Payments p;
  auto id = p.create_ok("s1", 1'000, "k1");
  p.apply(id, 400, "auth-1", "k2");
  p.cancel("s1", "k3");
  auto removed = p.remove(id, "auth-1", "k4");
  CHECK(json::parse(removed.body).at("done") == true);
  CHECK(p.service.payment(id).covered == 0);
  CHECK(p.service.invariant_holds());
}
