// The payment gateway participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"

#include "sagaflow/sagas/payment_gateway.hpp"

using namespace sagaflow;

namespace {

struct Gateway {
  Gateway() {
    service.register_method("card-ann", 10'000);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message charge(std::int64_t amount, const std::string& method, const std::string& reference,
                 const std::string& key) {
    return send(
        "payment_gateway.charge",
        json::object{
            {"user_id", "ann"}, {"amount", amount}, {"method", method}, {"reference", reference}},
        key);
  }
  Message refund(const std::string& reference, const std::string& key) {
    return send("payment_gateway.refund", json::object{{"reference", reference}}, key);
  }
  sagas::PaymentGatewayService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("payment_gateway: a charge takes the amount from the method and keeps the payment") {
  Gateway g;
  auto reply = g.charge(2'500, "card-ann", "r1", "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto body = json::parse(reply.body);
  CHECK(body.at("amount") == 2'500);
  CHECK(g.service.method("card-ann").funds == 7'500);
  auto payments = g.service.payments();
  REQUIRE(payments.count("r1") == 1);
  CHECK(payments.at("r1").payment_id == std::string(body.at("payment_id").as_string()));
  CHECK(g.service.captured_total() == 2'500);
  CHECK(g.service.conserved());
}

TEST_CASE(
    "payment_gateway: a declined card, an unknown method or too little money charge nothing") {
  Gateway g;
  g.service.register_method("card-blocked", 5'000);
  g.service.decline("card-blocked");
  CHECK(g.charge(100, "card-blocked", "r1", "k1").error_code == "CardDeclined");
  CHECK(g.charge(100, "card-nobody", "r2", "k2").error_code == "UnknownMethod");
  CHECK(g.charge(10'001, "card-ann", "r3", "k3").error_code == "InsufficientFunds");
  auto zero = g.charge(0, "card-ann", "r4", "k4");
  CHECK(zero.outcome == ReplyOutcome::business_failure);
  CHECK(zero.error_code == "InvalidAmount");
  CHECK(g.service.ledger().empty());
  CHECK(g.service.method("card-blocked").funds == 5'000);
  CHECK(g.service.conserved());
}

TEST_CASE("payment_gateway: a refund gives the money back once, a second refund does nothing") {
  Gateway g;
  g.charge(4'000, "card-ann", "r1", "k1");
  auto first = g.refund("r1", "k2");
  CHECK(json::parse(first.body).at("done") == true);
  CHECK(json::parse(first.body).at("amount") == 4'000);
  auto second = g.refund("r1", "k3");
  CHECK(second.outcome == ReplyOutcome::success);
  CHECK(json::parse(second.body).at("done") == false);
  CHECK(g.service.method("card-ann").funds == 10'000);
  CHECK(g.service.captured_total() == 0);
  CHECK(g.service.ledger().size() == 2);
  CHECK(g.service.conserved());
}

TEST_CASE("payment_gateway: refunding a charge that never happened succeeds with done=false") {
  Gateway g;
  auto reply = g.refund("never-charged", "k1");
  CHECK(reply.outcome == ReplyOutcome::success);
  CHECK(json::parse(reply.body).at("done") == false);
  CHECK(g.service.ledger().empty());
  CHECK(g.service.conserved());
}

TEST_CASE("payment_gateway: a charge repeated by key or by reference is applied once") {
  Gateway g;
  auto first = g.charge(1'000, "card-ann", "r1", "s1/charge/do");
  auto same_key = g.charge(1'000, "card-ann", "r1", "s1/charge/do");
  auto same_reference = g.charge(1'000, "card-ann", "r1", "other-key");
  CHECK(first.body == same_key.body);
  CHECK(json::parse(first.body).at("payment_id") ==
        json::parse(same_reference.body).at("payment_id"));
  CHECK(g.service.method("card-ann").funds == 9'000);
  CHECK(g.service.ledger().size() == 1);
  CHECK(g.charge(2'000, "card-ann", "r1", "k9").error_code == "ReferenceReused");
  CHECK(g.service.conserved());
}
