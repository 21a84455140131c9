// certificate_redemption (seed 002, scenarios 2 and 3) end to end with GiftCertificateProcessing
// and Payments: hold, wait for the payment, capture, apply the captured amount as a tender to the
// order's payment; every failure before the capture releases the hold, a tender refused after it
// voids the capture; a finished redemption can be voided later by payments or support.
// Invariants: no balance below zero, every capture voided at most once, balances match the
// Capture/Void operations, a payment is never covered beyond its amount.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/certificates.hpp"
#include "sagaflow/sagas/payments.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct Redemption {
  Redemption() {
    certificates.issue("GC-1", 5'000);
    certificates.register_handlers(dispatcher);
    world.serve("certificates", dispatcher);
    // The orders' payments the certificates are applied to, opened before the sagas.
    for (const char* id : {"pay-1", "pay-2", "pay-3"}) payments.open_payment(id, 10'000);
    payments.register_handlers(payments_dispatcher);
    world.serve("payments", payments_dispatcher);
    world.subscribe("GiftCertificateTransaction",
                    [this](const Message& m) { transactions.push_back(json::parse(m.body)); });
    world.subscribe("GiftCertificateState",
                    [this](const Message& m) { states.push_back(json::parse(m.body)); });
  }
  std::string redeem(std::int64_t amount, const std::string& payment = "pay-1",
                     const std::string& code = "GC-1") {
    return world.start(
        "certificate_redemption",
        json::object{
            {"code", code}, {"amount", amount}, {"payment_id", payment}, {"order_id", "o-1"}});
  }
  void confirm(const std::string& payment = "pay-1") {
    world.publish_event("payment.confirmed", json::object{{"payment_id", payment},
                                                          {"confirmed_at", "2026-11-23T12:00Z"}});
  }
  // Sends a command as payments or support would, outside any saga.
  Message call(const std::string& type, json::value payload, const std::string& key) {
    Message m;
    m.id = key + "/1";
    m.idempotency_key = key;
    m.type = type;
    m.body = json::serialize(payload);
    return (type.starts_with("payments.") ? payments_dispatcher : dispatcher).handle(m);
  }
  std::size_t effects(const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& e : certificates.ledger()) n += e.kind == kind;
    return n;
  }
  std::size_t operations(const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& op : certificates.operations()) n += op.kind == kind;
    return n;
  }
  std::size_t payment_effects(const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& e : payments.ledger()) n += e.kind == kind;
    return n;
  }

  sagaflow::testing::FlowWorld world{{"certificate_redemption"}};
  sagas::CertificatesService certificates;
  worker::Dispatcher dispatcher;
  sagas::PaymentsService payments;
  worker::Dispatcher payments_dispatcher;
  std::vector<json::value> transactions;
  std::vector<json::value> states;
};

}  // namespace

TEST_CASE(
    "certificate_redemption: a confirmed payment captures the held amount and tells the "
    "subscribers") {
  Redemption f;
  auto id = f.redeem(1'200);
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.world.result(id, "hold").at("available_balance") == 3'800);
  CHECK(f.certificates.certificate("GC-1").held == 1'200);
  f.confirm();
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"certificates.authorize_hold", "certificates.capture",
                                        "payments.apply_certificate"});
  CHECK(f.world.events(id) == Strings{"GiftCertificateTransaction", "GiftCertificateState"});
  CHECK(f.world.compensations(id).empty());
  auto cert = f.certificates.certificate("GC-1");
  CHECK(cert.balance == 3'800);
  CHECK(cert.held == 0);
  REQUIRE(f.transactions.size() == 1);
  CHECK(f.transactions[0].at("operation") == "Capture");
  CHECK(f.transactions[0].at("amount") == 1'200);
  CHECK(f.transactions[0].at("authorization_id") ==
        f.world.result(id, "hold").at("authorization_id"));
  REQUIRE(f.states.size() == 1);
  CHECK(f.states[0].at("balance") == 3'800);
  CHECK(f.certificates.invariants_hold());
  // The captured amount is a tender of the order's payment, named by the authorization id.
  auto authorization = std::string(f.world.result(id, "hold").at("authorization_id").as_string());
  CHECK(f.payments.payment("pay-1").covered == 1'200);
  CHECK(f.payments.tender("pay-1", authorization).amount == 1'200);
  CHECK(f.world.result(id, "apply_certificate").at("outstanding") == 8'800);
  CHECK(f.payments.invariant_holds());
}

TEST_CASE(
    "certificate_redemption: more than the balance is refused as InsufficientBalance, nothing "
    "held") {
  Redemption f;
  auto id = f.redeem(5'001);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"certificates.authorize_hold"});  // not retried
  CHECK(f.world.compensations(id).empty());
  CHECK(f.certificates.certificate("GC-1").held == 0);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE("certificate_redemption: an unknown or not yet activated code is refused at once") {
  Redemption f;
  f.certificates.add_code("GC-NEW");  // never sold: not active
  auto unknown = f.redeem(100, "pay-1", "GC-404");
  auto inactive = f.redeem(100, "pay-2", "GC-NEW");
  CHECK(f.world.status(unknown) == "compensated");
  CHECK(f.world.status(inactive) == "compensated");
  CHECK(f.world.compensations(unknown).empty());
  CHECK(f.world.compensations(inactive).empty());
  CHECK(f.effects("hold") == 0);
}

TEST_CASE("certificate_redemption: a failed payment releases the hold") {
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.publish_event("payment.failed", json::object{{"payment_id", "pay-1"}});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"certificates.release_hold"});
  CHECK(f.certificates.certificate("GC-1").held == 0);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.certificates.hold("pay-1").status == sagas::CertificatesService::HoldStatus::released);
  CHECK(f.transactions.empty());
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE("certificate_redemption: a payment never confirmed times out and releases the hold") {
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.advance(14min);
  CHECK(f.world.status(id) == "waiting");
  f.world.advance(2min);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"certificates.release_hold"});
  CHECK(f.certificates.certificate("GC-1").held == 0);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE("certificate_redemption: a confirmation of another payment does not capture this one") {
  Redemption f;
  auto id = f.redeem(1'200);
  f.confirm("pay-other");
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  f.confirm("pay-1");
  f.confirm("pay-1");  // a duplicated confirmation changes nothing
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("capture") == 1);
  CHECK(f.certificates.certificate("GC-1").balance == 3'800);
}

TEST_CASE("certificate_redemption: a redemption cancelled while waiting releases the hold") {
  Redemption f;
  auto id = f.redeem(1'200);
  auto cancelled = f.world.orchestrator().cancel(id, "customer left the checkout");
  f.world.settle();  // the orchestrator takes the request in its next round
  cancelled.get();
  CHECK(f.world.status(id) == "cancelled");
  CHECK(f.world.compensations(id) == Strings{"certificates.release_hold"});
  CHECK(f.certificates.certificate("GC-1").held == 0);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  f.confirm();  // too late: nothing is captured
  CHECK(f.effects("capture") == 0);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE(
    "certificate_redemption: a capture that keeps failing releases the hold, balance intact") {
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.fail_next("certificates.capture", 5);
  f.confirm();
  f.world.advance(20s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id).size() == 6);  // the hold and five capture attempts
  CHECK(f.world.compensations(id) == Strings{"certificates.release_hold"});
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.certificates.certificate("GC-1").held == 0);
  CHECK(f.transactions.empty());
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE("certificate_redemption: a capture whose reply was lost is retried and captured once") {
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.lose_reply_of_next("certificates.capture");
  f.confirm();
  f.world.advance(7s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"certificates.authorize_hold", "certificates.capture",
                                        "certificates.capture", "payments.apply_certificate"});
  CHECK(f.effects("capture") == 1);
  CHECK(f.certificates.certificate("GC-1").balance == 3'800);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE(
    "certificate_redemption: a capture applied but never answered parks the saga, never releases "
    "it") {
  // The capture took effect but no attempt was answered, so the saga sees a failed capture and
  // unwinds: release_hold refuses a captured hold (HoldAlreadyCaptured) and the saga parks for an
  // operator instead of pretending the customer's money was never taken.
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.lose_reply_of_next("certificates.capture");
  f.world.drop_next("certificates.capture", 4);
  f.confirm();
  f.world.advance(2min);
  CHECK(f.world.status(id) == "failed");
  // release_hold refused as a business failure: not retried, the saga parks at once.
  CHECK(f.world.compensations(id) == Strings{"certificates.release_hold"});
  CHECK(f.certificates.hold("pay-1").status == sagas::CertificatesService::HoldStatus::captured);
  CHECK(f.certificates.certificate("GC-1").balance == 3'800);
  // The operator (or support) voids the capture by the payment id.
  auto voided = f.call("certificates.void", json::object{{"reference", "pay-1"}}, "support-7");
  CHECK(json::parse(voided.body).at("done") == true);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE(
    "certificate_redemption: a finished redemption is voided later by support, at most once") {
  Redemption f;
  auto id = f.redeem(2'000);
  f.confirm();
  REQUIRE(f.world.status(id) == "completed");
  CHECK(f.certificates.certificate("GC-1").balance == 3'000);
  auto first = f.call("certificates.void", json::object{{"reference", "pay-1"}}, "support-1");
  auto body = json::parse(first.body);
  CHECK(body.at("done") == true);
  CHECK(body.at("voided_operation_id") == f.world.result(id, "capture").at("operation_id"));
  auto second = f.call("certificates.void", json::object{{"reference", "pay-1"}}, "payments-9");
  CHECK(second.outcome == ReplyOutcome::success);
  CHECK(json::parse(second.body).at("done") == false);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  auto ops = f.certificates.operations();
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].kind == "Capture");
  CHECK(ops[1].kind == "Void");
  CHECK(f.certificates.each_capture_voided_at_most_once());
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE("certificate_redemption: two redemptions cannot together spend more than the balance") {
  Redemption f;
  auto first = f.redeem(3'000, "pay-1");
  auto second = f.redeem(3'000, "pay-2");  // 2000 available beside the first hold
  CHECK(f.world.status(first) == "waiting");
  CHECK(f.world.status(second) == "compensated");
  f.confirm("pay-1");
  auto third = f.redeem(2'000, "pay-3");
  f.confirm("pay-3");
  CHECK(f.world.status(third) == "completed");
  CHECK(f.certificates.certificate("GC-1").balance == 0);
  CHECK(f.certificates.invariants_hold());
}

TEST_CASE(
    "certificate_redemption: a tender more than the payment still owes voids the capture, once") {
  Redemption f;
  f.payments.open_payment("pay-small", 500);
  auto id = f.redeem(1'200, "pay-small");
  f.confirm("pay-small");
  CHECK(f.world.status(id) == "compensated");
  // Refused as a business failure: not retried; nothing was applied, so nothing is removed.
  CHECK(f.world.commands(id) == Strings{"certificates.authorize_hold", "certificates.capture",
                                        "payments.apply_certificate"});
  CHECK(f.world.compensations(id) == Strings{"certificates.void"});
  auto cert = f.certificates.certificate("GC-1");
  CHECK(cert.balance == 5'000);
  CHECK(cert.held == 0);
  auto hold = f.certificates.hold("pay-small");
  CHECK(f.world.result(id, "capture").at("operation_id") == json::value(hold.capture_operation));
  CHECK_FALSE(hold.void_operation.empty());
  CHECK(f.operations("Capture") == 1);
  CHECK(f.operations("Void") == 1);
  CHECK(f.payments.payment("pay-small").covered == 0);
  CHECK(f.payment_effects("apply_certificate") == 0);
  // The publishes after the tender never happened; the void is announced instead.
  CHECK(f.world.events(id) == Strings{"GiftCertificateTransaction"});
  REQUIRE(f.transactions.size() == 1);
  CHECK(f.transactions[0].at("operation") == "Void");
  CHECK(f.transactions[0].at("amount") == 1'200);
  CHECK(f.certificates.balances_never_negative());
  CHECK(f.certificates.each_capture_voided_at_most_once());
  CHECK(f.certificates.invariants_hold());
  CHECK(f.payments.invariant_holds());
  // Support voiding it again finds nothing left to void.
  auto again = f.call("certificates.void", json::object{{"reference", "pay-small"}}, "support-2");
  CHECK(json::parse(again.body).at("done") == false);
  CHECK(f.operations("Void") == 1);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
}

TEST_CASE("certificate_redemption: a payment cancelled before the tender voids the capture") {
  Redemption f;
  // An order's payment made through payments.create, then cancelled while the saga waits.
  auto created = f.call(
      "payments.create",
      json::object{{"reference", "order-7"}, {"booking_id", ""}, {"amount", 3'000}}, "orders-1");
  REQUIRE(created.outcome == ReplyOutcome::success);
  auto payment = std::string(json::parse(created.body).at("payment_id").as_string());
  auto id = f.redeem(1'200, payment);
  f.call("payments.cancel", json::object{{"reference", "order-7"}}, "orders-2");
  f.confirm(payment);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"certificates.void"});
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.operations("Void") == 1);
  CHECK(f.payments.payment(payment).covered == 0);
  CHECK(f.certificates.each_capture_voided_at_most_once());
  CHECK(f.certificates.invariants_hold());
  CHECK(f.payments.invariant_holds());
}

TEST_CASE(
    "certificate_redemption: a tender applied but never answered is removed, then the capture "
    "voided") {
  // Every attempt of apply_certificate times out, the first after it was applied: the saga
  // cannot know, so it removes the tender by reference first, then voids the capture.
  Redemption f;
  auto id = f.redeem(1'200);
  f.world.lose_reply_of_next("payments.apply_certificate");
  f.world.drop_next("payments.apply_certificate", 4);
  f.confirm();
  f.world.advance(2min);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id).size() == 7);  // hold, capture, five tender attempts
  CHECK(f.world.compensations(id) == Strings{"payments.remove_certificate", "certificates.void"});
  CHECK(f.payment_effects("apply_certificate") == 1);
  CHECK(f.payment_effects("remove_certificate") == 1);
  CHECK(f.payments.payment("pay-1").covered == 0);
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.operations("Capture") == 1);
  CHECK(f.operations("Void") == 1);
  CHECK(f.certificates.each_capture_voided_at_most_once());
  CHECK(f.certificates.balances_never_negative());
  CHECK(f.certificates.invariants_hold());
  CHECK(f.payments.invariant_holds());
}

TEST_CASE("certificate_redemption: a tender that was never applied is removed as nothing") {
  Redemption f;
  auto id = f.redeem(700, "pay-2");
  f.world.drop_next("payments.apply_certificate", 5);
  f.confirm("pay-2");
  f.world.advance(2min);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"payments.remove_certificate", "certificates.void"});
  CHECK(f.payment_effects("apply_certificate") == 0);
  CHECK(f.payment_effects("remove_certificate") == 0);  // done=false: nothing to undo
  CHECK(f.certificates.certificate("GC-1").balance == 5'000);
  CHECK(f.operations("Void") == 1);
  CHECK(f.payments.invariant_holds());
}
