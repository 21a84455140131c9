// certificate_activation (seed 002, scenario 1) end to end with GiftCertificateProcessing and the
// SMS gateway: lines authorized, All_Payments followed (partial, duplicated, out of order), every
// certificate activated once the order is settled, events for the subscribers, CVCs by SMS; an
// order never paid or a code already sold releases every reserved line in reverse order.
// Invariants: a code is sold at most once, balances never below zero and equal to what the
// operations say, one CVC per certificate.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/certificates.hpp"
#include "sagaflow/sagas/sms.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using State = sagas::CertificatesService::State;

namespace {

json::object line(const std::string& id, const std::string& code, std::int64_t denomination,
                  const std::string& phone = "+79161234567") {
  return json::object{{"orderLineId", id},
                      {"code", code},
                      {"plannedDenomination", denomination},
                      {"intendedRecipient", json::object{{"name", "Anna"}, {"phone", phone}}}};
}

json::object paid(const std::string& line, std::int64_t amount) {
  return json::object{{"orderLineId", line}, {"collectedAmount", amount}};
}

// Whether JSON text holds `secret` as a string value (quoted, possibly escaped when the JSON is
// itself inside a JSON string, as a saga's state may be), or any "cvc" field at all. A bare
// substring search would be fooled by a 3-digit CVC inside a balance or an id ("300" in 3000).
bool holds_secret(const std::string& text, const std::string& secret) {
  for (const char* field : {"\"cvc\"", "\\\"cvc\\\""}) {
    if (text.find(field) != std::string::npos) return true;
  }
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 1)) {
    const auto after = at + secret.size();
    if (at > 0 && text[at - 1] == '"' && after < text.size() &&
        (text[after] == '"' || text[after] == '\\')) {
      return true;
    }
  }
  return false;
}

struct Activation {
  Activation() {
    for (const char* code : {"GC-1", "GC-2", "GC-3"}) certificates.add_code(code);
    certificates.issue("GC-SOLD", 1'000);
    certificates.register_handlers(certificates_dispatcher);
    sms.register_handlers(sms_dispatcher);
    // The claim check: the SMS gateway reads each CVC from the certificates service.
    sms.set_cvc_source([this](const std::string& code) { return certificates.cvc(code); });
    world.serve("certificates", certificates_dispatcher);
    world.serve("sms", sms_dispatcher);
    for (const char* type : {"GiftCertificateState", "GiftCertificateTransaction"}) {
      world.subscribe(type, [this](const Message& m) { bi.push_back(json::parse(m.body)); });
    }
  }
  // Order o-1: line l1 = GC-1 for 3000, line l2 = GC-2 for 2000 (unless told otherwise).
  std::string sell(json::array lines = json::array{line("l1", "GC-1", 3'000),
                                                   line("l2", "GC-2", 2'000)}) {
    return world.start("certificate_activation",
                       json::object{{"orderId", "o-1"}, {"certificateLines", std::move(lines)}});
  }
  // An All_Payments event of order o-1.
  void payment(std::int64_t version, std::int64_t captured, std::int64_t outstanding,
               json::array allocations, const std::string& message_id = {}) {
    world.publish_event("All_Payments",
                        json::object{{"orderId", "o-1"},
                                     {"paymentVersion", version},
                                     {"capturedAmount", captured},
                                     {"outstandingAmount", outstanding},
                                     {"isOrderSettled", outstanding == 0},
                                     {"certificateAllocations", std::move(allocations)}},
                        message_id);
  }
  void settle_in_full(std::int64_t version = 1) {
    payment(version, 5'000, 0, json::array{paid("l1", 3'000), paid("l2", 2'000)});
  }
  std::vector<std::string> effects(const std::string& kind) const {
    std::vector<std::string> out;
    for (const auto& e : certificates.ledger()) {
      if (e.kind == kind) out.push_back(e.ref);
    }
    return out;
  }
  std::int64_t collected(const std::string& line_id) const {
    for (const auto& a : certificates.allocations("o-1")) {
      if (a.order_line_id == line_id) return a.collected_amount;
    }
    return -1;
  }
  bool invariants() const {
    return certificates.invariants_hold() && sms.each_line_sent_at_most_once();
  }

  sagaflow::testing::FlowWorld world{{"certificate_activation"}};
  sagas::CertificatesService certificates;
  sagas::SmsService sms;
  worker::Dispatcher certificates_dispatcher;
  worker::Dispatcher sms_dispatcher;
  std::vector<json::value> bi;  // what the subscribers received
};

}  // namespace

TEST_CASE(
    "certificate_activation: a settled order activates every certificate, tells BI and sends the "
    "CVCs") {
  Activation f;
  auto id = f.sell();
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.certificates.certificate("GC-1").state == State::reserved);
  f.settle_in_full();
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"certificates.authorize", "certificates.authorize",
                                        "certificates.record_payment", "certificates.activate",
                                        "certificates.activate", "sms.send_cvc", "sms.send_cvc"});
  CHECK(f.world.events(id) == Strings{"GiftCertificateState", "GiftCertificateTransaction"});
  CHECK(f.world.compensations(id).empty());
  for (const auto& [code, balance] : {std::pair{"GC-1", 3'000}, std::pair{"GC-2", 2'000}}) {
    auto cert = f.certificates.certificate(code);
    CHECK(cert.state == State::active);
    CHECK(cert.sold);
    CHECK(cert.balance == balance);
  }
  REQUIRE(f.bi.size() == 2);
  CHECK(f.bi[1].at("operation") == "Activate");
  const auto& certs = f.bi[1].at("certificates").as_array();
  REQUIRE(certs.size() == 2);
  CHECK(certs[0].at("code") == "GC-1");
  CHECK(certs[0].at("balance") == 3'000);
  CHECK(certs[1].at("state") == "active");
  auto messages = f.sms.messages();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].code == "GC-1");
  CHECK(messages[0].text.find(f.certificates.certificate("GC-1").cvc) != std::string::npos);
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: a CVC never passes through the saga (claim check): not in a message, "
    "its state or its history, yet the SMS carries it") {
  Activation f;
  auto id = f.sell();
  f.settle_in_full();
  REQUIRE(f.world.status(id) == "completed");
  auto sent = f.sms.messages();
  REQUIRE(sent.size() == 2);
  const auto state = f.world.saga(id).state;
  const auto history = f.world.history(id);
  CHECK_FALSE(history.empty());
  for (const auto& [line_id, code] : {std::pair{"l1", "GC-1"}, std::pair{"l2", "GC-2"}}) {
    const auto cvc = f.certificates.cvc(code);
    CAPTURE(code);
    CAPTURE(cvc);
    REQUIRE(cvc.size() == 3);
    // The check itself would see a leak: a CVC as a JSON string value, bare or escaped.
    REQUIRE(holds_secret(json::serialize(json::object{{"x", cvc}}), cvc));
    REQUIRE(holds_secret(
        json::serialize(json::value(json::string(json::serialize(json::array{cvc})))), cvc));
    for (const auto& m : f.world.sent()) {
      CAPTURE(m.type);
      CHECK_FALSE(holds_secret(m.body, cvc));
    }
    CHECK_FALSE(holds_secret(state, cvc));
    for (const auto& row : history) {
      CAPTURE(row.kind);
      CAPTURE(row.step);
      CHECK_FALSE(holds_secret(row.detail, cvc));
    }
    // ... while the SMS gateway did send it, to the recipient.
    auto message = std::find_if(sent.begin(), sent.end(),
                                [&](const auto& m) { return m.order_line_id == line_id; });
    REQUIRE(message != sent.end());
    CHECK(message->code == code);
    CHECK(message->text.find("CVC " + cvc) != std::string::npos);
  }
  // Every kind of message went by: commands (sms.send_cvc among them) and events.
  CHECK(f.world.events(id) == Strings{"GiftCertificateState", "GiftCertificateTransaction"});
  CHECK(f.world.sent().size() >= 9);
  CHECK(f.bi.size() == 2);
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: partial payments are recorded and the order waits until settled") {
  Activation f;
  auto id = f.sell();
  f.payment(1, 1'000, 4'000, json::array{paid("l1", 1'000)});
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.collected("l1") == 1'000);
  f.payment(2, 3'500, 1'500, json::array{paid("l1", 3'000), paid("l2", 500)});
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.collected("l1") == 3'000);
  CHECK(f.collected("l2") == 500);
  CHECK(f.certificates.certificate("GC-1").state == State::reserved);  // nothing active yet
  f.settle_in_full(3);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("record_payment") == Strings{"o-1@1", "o-1@2", "o-1@3"});
  CHECK(f.collected("l2") == 2'000);
  CHECK(f.world.result(id, "await_payment").at("paymentVersion") == 3);
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: a duplicated All_Payments (same id, or same version anew) is recorded "
    "once") {
  Activation f;
  auto id = f.sell();
  f.payment(1, 1'000, 4'000, json::array{paid("l1", 1'000)}, "pay-evt-1");
  f.payment(1, 1'000, 4'000, json::array{paid("l1", 1'000)}, "pay-evt-1");   // redelivered
  f.payment(1, 1'000, 4'000, json::array{paid("l1", 1'000)}, "pay-evt-1b");  // republished
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.effects("record_payment") == Strings{"o-1@1"});
  f.settle_in_full(2);
  f.settle_in_full(2);  // the settling event twice: after the end, ignored
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("record_payment") == Strings{"o-1@1", "o-1@2"});
  CHECK(f.effects("activate").size() == 2);
  CHECK(f.sms.messages().size() == 2);
  CHECK(f.invariants());
}

TEST_CASE("certificate_activation: an older paymentVersion after a newer one changes nothing") {
  Activation f;
  auto id = f.sell();
  f.payment(2, 3'500, 1'500, json::array{paid("l1", 3'000), paid("l2", 500)});
  f.payment(1, 1'000, 4'000, json::array{paid("l1", 1'000)});  // overtaken on the way
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.collected("l1") == 3'000);
  CHECK(f.world.result(id, "await_payment").at("paymentVersion") == 2);
  CHECK(f.world.result(id, "await_payment").at("outstandingAmount") == 1'500);
  CHECK(f.effects("record_payment") == Strings{"o-1@2"});
  f.settle_in_full(3);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: a settled event overtaken by an older partial one still completes "
    "once") {
  Activation f;
  auto id = f.sell();
  f.settle_in_full(5);
  f.payment(4, 1'000, 4'000, json::array{paid("l1", 1'000)});
  CHECK(f.world.status(id) == "completed");
  CHECK(f.collected("l1") == 3'000);
  CHECK(f.certificates.certificate("GC-1").balance == 3'000);
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: an order never paid times out and releases every line in reverse "
    "order") {
  Activation f;
  auto id = f.sell(
      json::array{line("l1", "GC-1", 3'000), line("l2", "GC-2", 2'000), line("l3", "GC-3", 1'000)});
  f.payment(1, 1'000, 5'000, json::array{paid("l1", 1'000)});
  f.world.advance(std::chrono::hours(71));
  CHECK(f.world.status(id) == "waiting");
  f.world.advance(std::chrono::hours(2));
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) ==
        Strings{"certificates.release", "certificates.release", "certificates.release"});
  CHECK(f.effects("release") == Strings{"l3", "l2", "l1"});
  for (const char* code : {"GC-1", "GC-2", "GC-3"}) {
    CHECK(f.certificates.certificate(code).state == State::available);
  }
  CHECK(f.certificates.allocations("o-1").empty());
  CHECK(f.effects("activate").empty());
  CHECK(f.sms.messages().empty());
  CHECK(f.bi.empty());
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: CodeAlreadySold on the second line releases the first, no retry") {
  Activation f;
  auto id = f.sell(json::array{line("l1", "GC-1", 3'000), line("l2", "GC-SOLD", 2'000)});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"certificates.authorize", "certificates.authorize"});
  CHECK(f.world.compensations(id) == Strings{"certificates.release"});
  CHECK(f.effects("release") == Strings{"l1"});
  CHECK(f.certificates.certificate("GC-1").state == State::available);
  auto sold = f.certificates.certificate("GC-SOLD");
  CHECK(sold.balance == 1'000);  // the sold certificate is untouched
  CHECK(sold.order_id.empty());
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: a code reserved by another order is refused and the order unwound") {
  Activation f;
  auto first = f.sell();
  auto second = f.world.start(
      "certificate_activation",
      json::object{
          {"orderId", "o-2"},
          {"certificateLines", json::array{line("m1", "GC-3", 500), line("m2", "GC-1", 500)}}});
  CHECK(f.world.status(first) == "waiting");
  CHECK(f.world.status(second) == "compensated");
  CHECK(f.world.compensations(second) == Strings{"certificates.release"});
  CHECK(f.certificates.certificate("GC-1").order_id == "o-1");
  CHECK(f.certificates.certificate("GC-3").state == State::available);
}

TEST_CASE(
    "certificate_activation: recording payments failing for good fails the wait and releases the "
    "lines") {
  Activation f;
  auto id = f.sell();
  f.world.fail_next("certificates.record_payment", 5);
  f.settle_in_full();
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"certificates.release", "certificates.release"});
  CHECK(f.effects("release") == Strings{"l2", "l1"});
  CHECK(f.effects("activate").empty());
  CHECK(f.invariants());
}

TEST_CASE("certificate_activation: a record_payment down once is retried before activation") {
  Activation f;
  auto id = f.sell();
  f.world.fail_next("certificates.record_payment");
  f.settle_in_full();
  CHECK(f.world.status(id) != "completed");  // the wait ends only once the payment is recorded
  CHECK(f.effects("activate").empty());
  f.world.advance(1s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("record_payment") == Strings{"o-1@1"});
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: a settled order whose allocation is not covered is not activated "
    "(NotPaid)") {
  Activation f;
  auto id = f.sell(json::array{line("l1", "GC-1", 3'000)});
  f.payment(1, 2'000, 0, json::array{paid("l1", 2'000)});  // settled, yet the plan is not covered
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"certificates.release"});
  CHECK(f.certificates.certificate("GC-1").state == State::available);
  CHECK(f.effects("activate").empty());
  CHECK(f.invariants());
}

TEST_CASE("certificate_activation: an activation down once is retried and activates once") {
  Activation f;
  auto id = f.sell();
  f.world.fail_next("certificates.activate");
  f.settle_in_full();
  f.world.advance(1s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("activate").size() == 2);
  CHECK(f.certificates.operations().size() == 2);
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: an SMS gateway down for a while is retried with backoff, one SMS "
    "each") {
  Activation f;
  auto id = f.sell();
  f.world.fail_next("sms.send_cvc", 4);
  f.settle_in_full();
  CHECK(f.world.status(id) == "running");
  f.world.advance(20s);
  CHECK(f.world.status(id) == "completed");
  auto sent = f.world.commands(id);
  CHECK(std::count(sent.begin(), sent.end(), "sms.send_cvc") == 6);
  CHECK(f.sms.messages().size() == 2);
  CHECK(f.world.compensations(id).empty());
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: an invalid phone after activation parks the saga, certificates stay "
    "active") {
  Activation f;
  auto id =
      f.sell(json::array{line("l1", "GC-1", 3'000), line("l2", "GC-2", 2'000, "not-a-phone")});
  f.settle_in_full();
  CHECK(f.world.status(id) == "failed");  // past the pivot: an operator fixes the phone
  CHECK(f.world.compensations(id).empty());
  CHECK(f.certificates.certificate("GC-1").state == State::active);
  CHECK(f.certificates.certificate("GC-2").state == State::active);
  CHECK(f.sms.messages().size() == 1);
  CHECK(f.invariants());
}

TEST_CASE("certificate_activation: a redelivered authorize reserves each code once") {
  Activation f;
  f.world.duplicate("certificates.authorize");
  auto id = f.sell();
  CHECK(f.effects("authorize") == Strings{"l1", "l2"});
  f.settle_in_full();
  CHECK(f.world.status(id) == "completed");
  CHECK(f.invariants());
}

TEST_CASE(
    "certificate_activation: All_SalesOrder starts one saga per order, however often it is "
    "published") {
  Activation f;
  json::object order{{"orderId", "o-1"},
                     {"certificateLines", json::array{line("l1", "GC-1", 3'000)}}};
  f.world.publish_event("All_SalesOrder", order, "sales-1");
  f.world.publish_event("All_SalesOrder", order, "sales-1b");  // published again
  f.world.publish_event("All_SalesOrder", json::object{{"orderId", "o-9"}},
                        "sales-2");  // no certificates
  CHECK(f.effects("authorize") == Strings{"l1"});
  const auto key = f.certificates.ledger().at(0).command_id;  // <saga>/authorize_lines[0]/do
  const auto id = key.substr(0, key.find('/'));
  CHECK(f.world.status(id) == "waiting");
  f.payment(1, 3'000, 0, json::array{paid("l1", 3'000)});
  CHECK(f.world.status(id) == "completed");
  CHECK(f.certificates.certificate("GC-1").balance == 3'000);
  CHECK(f.invariants());
}
