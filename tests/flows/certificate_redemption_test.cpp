// certificate_redemption (seed 002, scenarios 2 and 3) end to end with GiftCertificateProcessing:
// hold, wait for the payment, capture; every failure releases the hold; a finished redemption
// can be voided later by payments or support. Invariants: no balance below zero, every capture
// voided at most once, balances match the Capture/Void operations.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/certificates.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct Redemption {
  Redemption() {
    certificates.issue("GC-1", 5'000);
    certificates.register_handlers(dispatcher);
    world.serve("certificates", dispatcher);
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
    return dispatcher.handle(m);
  }
  std::size_t effects(const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& e : certificates.ledger()) n += e.kind == kind;
    return n;
  }

  sagaflow::testing::FlowWorld world{{"certificate_redemption"}};
  sagas::CertificatesService certificates;
  worker::Dispatcher dispatcher;
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
  CHECK(f.world.commands(id) == Strings{"certificates.authorize_hold", "certificates.capture"});
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
  CHECK(f.world.commands(id) ==
        Strings{"certificates.authorize_hold", "certificates.capture", "certificates.capture"});
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
