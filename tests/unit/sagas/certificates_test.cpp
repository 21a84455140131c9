// GiftCertificateProcessing's business rules (seed 002), through its typed contracts on a
// dispatcher: sale and activation, then redemption (hold, capture, void).
#include <doctest/doctest.h>

#include "sagaflow/sagas/certificates.hpp"

using namespace sagaflow;

namespace {

using State = sagas::CertificatesService::State;

struct Certificates {
  Certificates() {
    service.add_code("GC-1");
    service.add_code("GC-2");
    service.issue("GC-SOLD", 5'000);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    Message m;
    m.id = key + "/1";
    m.idempotency_key = key;
    m.type = type;
    m.body = json::serialize(payload);
    return dispatcher.handle(m);
  }
  Message authorize(const std::string& line, const std::string& code, std::int64_t denomination,
                    const std::string& key, const std::string& order = "o1") {
    return send(
        "certificates.authorize",
        json::object{{"order_id", order},
                     {"order_line_id", line},
                     {"code", code},
                     {"denomination", denomination},
                     {"recipient", json::object{{"name", "Anna"}, {"phone", "+79161234567"}}},
                     {"channel", "online_store"}},
        key);
  }
  Message line(const std::string& type, const std::string& line, const std::string& key,
               const std::string& order = "o1") {
    return send(type, json::object{{"order_id", order}, {"order_line_id", line}}, key);
  }
  Message record_payment(std::int64_t version, json::array allocations, const std::string& key,
                         bool settled = false) {
    return send("certificates.record_payment",
                json::object{{"order_id", "o1"},
                             {"payment_version", version},
                             {"captured_amount", 0},
                             {"outstanding_amount", settled ? 0 : 1},
                             {"is_order_settled", settled},
                             {"allocations", std::move(allocations)}},
                key);
  }
  static json::object paid(const std::string& line, std::int64_t amount) {
    return json::object{{"orderLineId", line}, {"collectedAmount", amount}};
  }
  Message hold(const std::string& code, std::int64_t amount, const std::string& reference,
               const std::string& key) {
    return send("certificates.authorize_hold",
                json::object{{"code", code}, {"amount", amount}, {"reference", reference}}, key);
  }
  Message on_hold(const std::string& type, const std::string& reference, const std::string& key) {
    return send(type, json::object{{"reference", reference}}, key);
  }
  // Sells GC-1 for 3000 through line l1 of o1, paid in full.
  void sell_gc1() {
    REQUIRE(authorize("l1", "GC-1", 3'000, "a1").outcome == ReplyOutcome::success);
    REQUIRE(record_payment(1, json::array{paid("l1", 3'000)}, "p1", true).outcome ==
            ReplyOutcome::success);
    REQUIRE(line("certificates.activate", "l1", "act1").outcome == ReplyOutcome::success);
  }
  sagas::CertificatesService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

// --- sale and activation -------------------------------------------------------------------

TEST_CASE("certificates: authorize reserves an unsold code and creates its allocation") {
  Certificates c;
  auto reply = c.authorize("l1", "GC-1", 3'000, "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto cert = c.service.certificate("GC-1");
  CHECK(cert.state == State::reserved);
  CHECK(cert.channel == "online_store");
  CHECK(cert.order_line_id == "l1");
  auto allocations = c.service.allocations("o1");
  REQUIRE(allocations.size() == 1);
  CHECK(allocations[0].planned_denomination == 3'000);
  CHECK(allocations[0].collected_amount == 0);
  CHECK(allocations[0].recipient.phone == "+79161234567");
  CHECK(json::parse(reply.body).at("allocation_id").as_string() == allocations[0].allocation_id);
}

TEST_CASE("certificates: authorize refuses a sold code (CodeAlreadySold) and other bad lines") {
  Certificates c;
  auto sold = c.authorize("l1", "GC-SOLD", 3'000, "k1");
  CHECK(sold.outcome == ReplyOutcome::business_failure);
  CHECK(sold.error_code == "CodeAlreadySold");
  CHECK(c.authorize("l1", "GC-404", 3'000, "k2").error_code == "UnknownCode");
  CHECK(c.authorize("l1", "GC-1", 0, "k3").error_code == "InvalidDenomination");
  c.authorize("l1", "GC-1", 3'000, "k4");
  CHECK(c.authorize("l9", "GC-1", 3'000, "k5", "o2").error_code == "CodeReserved");
  CHECK(c.authorize("l1", "GC-2", 3'000, "k6").error_code == "LineAlreadyAllocated");
  CHECK(c.service.allocations("o2").empty());
  CHECK(c.service.ledger().size() == 1);
}

TEST_CASE("certificates: authorize repeated by key or for the same line is one allocation") {
  Certificates c;
  auto first = c.authorize("l1", "GC-1", 3'000, "s1/authorize_lines[0]/do");
  auto same_key = c.authorize("l1", "GC-1", 3'000, "s1/authorize_lines[0]/do");
  auto same_line = c.authorize("l1", "GC-1", 3'000, "other");
  CHECK(first.body == same_key.body);
  CHECK(first.body == same_line.body);
  CHECK(c.service.allocations("o1").size() == 1);
  CHECK(c.service.ledger().size() == 1);
}

TEST_CASE("certificates: release frees the code and deletes the allocation, once") {
  Certificates c;
  c.authorize("l1", "GC-1", 3'000, "k1");
  auto first = c.line("certificates.release", "l1", "k2");
  CHECK(json::parse(first.body).at("done") == true);
  CHECK(c.service.certificate("GC-1").state == State::available);
  CHECK(c.service.allocations("o1").empty());
  auto again = c.line("certificates.release", "l1", "k3");
  CHECK(again.outcome == ReplyOutcome::success);
  CHECK(json::parse(again.body).at("done") == false);
  auto never = c.line("certificates.release", "l7", "k4");
  CHECK(json::parse(never.body).at("done") == false);
  CHECK(c.service.ledger().size() == 2);
  // The freed code can be sold again.
  CHECK(c.authorize("l1", "GC-1", 3'000, "k5", "o2").outcome == ReplyOutcome::success);
}

TEST_CASE(
    "certificates: record_payment keeps collected_amount, an older or equal version changes "
    "nothing") {
  Certificates c;
  c.authorize("l1", "GC-1", 3'000, "k1");
  c.authorize("l2", "GC-2", 2'000, "k2");
  auto v1 = c.record_payment(1, json::array{Certificates::paid("l1", 1'000)}, "p1");
  CHECK(json::parse(v1.body).at("applied") == true);
  CHECK(json::parse(v1.body).at("collected_total") == 1'000);
  auto v3 = c.record_payment(
      3, json::array{Certificates::paid("l1", 3'000), Certificates::paid("l2", 500)}, "p3");
  CHECK(json::parse(v3.body).at("collected_total") == 3'500);
  auto v2 = c.record_payment(2, json::array{Certificates::paid("l1", 2'000)}, "p2");  // late
  CHECK(v2.outcome == ReplyOutcome::success);
  CHECK(json::parse(v2.body).at("applied") == false);
  auto v3_again = c.record_payment(3, json::array{Certificates::paid("l2", 9'999)}, "p3b");
  CHECK(json::parse(v3_again.body).at("applied") == false);
  CHECK(c.service.payment_version("o1") == 3);
  auto allocations = c.service.allocations("o1");
  CHECK(allocations[0].collected_amount == 3'000);
  CHECK(allocations[1].collected_amount == 500);
}

TEST_CASE("certificates: record_payment for an order without allocations is refused") {
  Certificates c;
  auto reply = c.send("certificates.record_payment",
                      json::object{{"order_id", "o9"},
                                   {"payment_version", 1},
                                   {"captured_amount", 0},
                                   {"outstanding_amount", 0},
                                   {"is_order_settled", true},
                                   {"allocations", json::array{}}},
                      "k1");
  CHECK(reply.error_code == "UnknownOrder");
}

TEST_CASE(
    "certificates: activate sets balance = denomination once the line is paid, and only once") {
  Certificates c;
  c.authorize("l1", "GC-1", 3'000, "k1");
  c.record_payment(1, json::array{Certificates::paid("l1", 2'999)}, "p1");
  auto unpaid = c.line("certificates.activate", "l1", "k2");
  CHECK(unpaid.error_code == "NotPaid");
  CHECK(c.service.cvc("GC-1").empty());  // reserved, not active: no CVC to read
  c.record_payment(2, json::array{Certificates::paid("l1", 3'000)}, "p2", true);
  auto reply = c.line("certificates.activate", "l1", "k3");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto body = json::parse(reply.body);
  CHECK(body.at("balance") == 3'000);
  CHECK(body.at("state") == "active");
  CHECK(body.at("phone") == "+79161234567");
  // The CVC stays with the service (a secret): never in the reply, read in-process by code.
  CHECK_FALSE(body.as_object().contains("cvc"));
  CHECK(c.service.cvc("GC-1").size() == 3);
  CHECK(reply.body.find(c.service.cvc("GC-1")) == std::string::npos);
  CHECK(c.service.cvc("GC-UNKNOWN").empty());
  auto cert = c.service.certificate("GC-1");
  CHECK(cert.state == State::active);
  CHECK(cert.sold);
  CHECK(cert.balance == 3'000);
  auto again = c.line("certificates.activate", "l1", "k4");  // a resend under another key
  CHECK(json::parse(again.body).at("operation_id") == body.at("operation_id"));
  CHECK(c.service.operations().size() == 1);
  CHECK(c.service.operations()[0].kind == "Activate");
  // A sold code cannot be released nor sold again.
  CHECK(json::parse(c.line("certificates.release", "l1", "k5").body).at("done") == false);
  CHECK(c.authorize("l1", "GC-1", 3'000, "k6", "o2").error_code == "CodeAlreadySold");
  CHECK(c.service.invariants_hold());
}

TEST_CASE("certificates: activate of a line never authorized is refused") {
  Certificates c;
  CHECK(c.line("certificates.activate", "l1", "k1").error_code == "UnknownAllocation");
}

// --- redemption ----------------------------------------------------------------------------

TEST_CASE("certificates: authorize_hold holds part of the balance and answers what is left") {
  Certificates c;
  auto reply = c.hold("GC-SOLD", 1'200, "pay-1", "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto body = json::parse(reply.body);
  CHECK(body.at("available_balance") == 3'800);
  CHECK(!body.at("authorization_id").as_string().empty());
  CHECK(c.service.certificate("GC-SOLD").held == 1'200);
  CHECK(c.service.certificate("GC-SOLD").balance == 5'000);
  CHECK(c.service.invariants_hold());
}

TEST_CASE("certificates: authorize_hold refuses too much, an unknown or an inactive code") {
  Certificates c;
  c.hold("GC-SOLD", 4'000, "pay-1", "k1");
  auto over = c.hold("GC-SOLD", 1'001, "pay-2", "k2");  // only 1000 left beside the open hold
  CHECK(over.outcome == ReplyOutcome::business_failure);
  CHECK(over.error_code == "InsufficientBalance");
  CHECK(c.hold("GC-404", 1, "pay-3", "k3").error_code == "UnknownCode");
  CHECK(c.hold("GC-1", 1, "pay-4", "k4").error_code == "CertificateNotActive");
  CHECK(c.hold("GC-SOLD", 0, "pay-5", "k5").error_code == "InvalidAmount");
  CHECK(c.service.certificate("GC-SOLD").held == 4'000);
  CHECK(c.service.invariants_hold());
}

TEST_CASE("certificates: release_hold frees an open hold once, nothing to release is done=false") {
  Certificates c;
  CHECK(json::parse(c.on_hold("certificates.release_hold", "pay-1", "k0").body).at("done") ==
        false);
  c.hold("GC-SOLD", 1'000, "pay-1", "k1");
  CHECK(json::parse(c.on_hold("certificates.release_hold", "pay-1", "k2").body).at("done") == true);
  CHECK(json::parse(c.on_hold("certificates.release_hold", "pay-1", "k3").body).at("done") ==
        false);
  CHECK(c.service.certificate("GC-SOLD").held == 0);
  CHECK(c.on_hold("certificates.capture", "pay-1", "k4").error_code == "HoldNotOpen");
  CHECK(c.service.certificate("GC-SOLD").balance == 5'000);
}

TEST_CASE("certificates: capture reduces the balance by the hold and records a Capture") {
  Certificates c;
  c.hold("GC-SOLD", 1'500, "pay-1", "k1");
  auto reply = c.on_hold("certificates.capture", "pay-1", "k2");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  CHECK(json::parse(reply.body).at("balance") == 3'500);
  auto cert = c.service.certificate("GC-SOLD");
  CHECK(cert.balance == 3'500);
  CHECK(cert.held == 0);
  auto ops = c.service.operations();
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].kind == "Capture");
  CHECK(ops[0].amount == 1'500);
  auto again = c.on_hold("certificates.capture", "pay-1", "k3");  // resent under another key
  CHECK(json::parse(again.body).at("operation_id") == json::parse(reply.body).at("operation_id"));
  CHECK(c.service.certificate("GC-SOLD").balance == 3'500);
  CHECK(c.on_hold("certificates.capture", "pay-404", "k4").error_code == "UnknownAuthorization");
  CHECK(c.service.invariants_hold());
}

TEST_CASE("certificates: a captured hold is not released: it must be voided") {
  Certificates c;
  c.hold("GC-SOLD", 1'500, "pay-1", "k1");
  c.on_hold("certificates.capture", "pay-1", "k2");
  auto release = c.on_hold("certificates.release_hold", "pay-1", "k3");
  CHECK(release.outcome == ReplyOutcome::business_failure);
  CHECK(release.error_code == "HoldAlreadyCaptured");
  CHECK(c.service.certificate("GC-SOLD").balance == 3'500);
}

TEST_CASE("certificates: void restores a capture's balance once, a second void is done=false") {
  Certificates c;
  c.hold("GC-SOLD", 2'000, "pay-1", "k1");
  c.on_hold("certificates.capture", "pay-1", "k2");
  auto first = c.on_hold("certificates.void", "pay-1", "support-1");
  auto body = json::parse(first.body);
  CHECK(body.at("done") == true);
  CHECK(body.at("balance") == 5'000);
  auto second = c.on_hold("certificates.void", "pay-1", "support-2");
  CHECK(second.outcome == ReplyOutcome::success);
  CHECK(json::parse(second.body).at("done") == false);
  CHECK(c.service.certificate("GC-SOLD").balance == 5'000);
  auto ops = c.service.operations();
  REQUIRE(ops.size() == 2);
  CHECK(ops[1].kind == "Void");
  CHECK(ops[1].voided_operation_id == ops[0].operation_id);
  CHECK(ops[1].command_id == "support-1");
  CHECK(c.service.each_capture_voided_at_most_once());
  CHECK(c.service.invariants_hold());
}

TEST_CASE("certificates: voiding nothing (no hold, or a hold never captured) is done=false") {
  Certificates c;
  CHECK(json::parse(c.on_hold("certificates.void", "pay-404", "k1").body).at("done") == false);
  c.hold("GC-SOLD", 2'000, "pay-1", "k2");
  CHECK(json::parse(c.on_hold("certificates.void", "pay-1", "k3").body).at("done") == false);
  CHECK(c.service.certificate("GC-SOLD").balance == 5'000);
  CHECK(c.service.certificate("GC-SOLD").held == 2'000);
  CHECK(c.service.operations().empty());
}

TEST_CASE("certificates: a certificate sold in a saga can then be held, captured and voided") {
  Certificates c;
  c.sell_gc1();
  c.hold("GC-1", 3'000, "pay-1", "k1");
  CHECK(c.hold("GC-1", 1, "pay-2", "k2").error_code == "InsufficientBalance");
  c.on_hold("certificates.capture", "pay-1", "k3");
  CHECK(c.service.certificate("GC-1").balance == 0);
  c.on_hold("certificates.void", "pay-1", "k4");
  CHECK(c.service.certificate("GC-1").balance == 3'000);
  CHECK(c.service.invariants_hold());
}
