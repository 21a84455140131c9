// The offers participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"

#include "sagaflow/sagas/offers.hpp"

using namespace sagaflow;

namespace {

struct Offers {
  Offers() { service.register_handlers(dispatcher); }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return testing::send_command(dispatcher, type, std::move(payload), key);
  }
  std::string create(const std::string& offer, const std::string& key) {
    auto reply = send("offers.create_order",
                      json::object{{"user_id", "ann"}, {"offer_id", offer}, {"price", 300}}, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(json::parse(reply.body).at("order_id").as_string());
  }
  sagas::OffersService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("offers: an order is pending until fulfilled, and a bought order cannot be cancelled") {
  Offers o;
  auto id = o.create("spa", "k1");
  auto bought = o.send("offers.fulfil", json::object{{"order_id", id}}, "k2");
  CHECK(json::parse(bought.body).at("status") == "bought");
  auto cancel = o.send("offers.cancel_order", json::object{{"order_id", id}}, "k3");
  CHECK(cancel.outcome == ReplyOutcome::success);
  CHECK(json::parse(cancel.body).at("status") == "bought");
  CHECK(o.service.ledger().size() == 2);  // create and fulfil; the cancel changed nothing
}

TEST_CASE("offers: a sold-out offer is refused at fulfilment and the order can be cancelled") {
  Offers o;
  o.service.sell_out("concert");
  auto id = o.create("concert", "k1");
  auto fulfil = o.send("offers.fulfil", json::object{{"order_id", id}}, "k2");
  CHECK(fulfil.outcome == ReplyOutcome::business_failure);
  CHECK(fulfil.error_code == "OfferSoldOut");
  o.send("offers.cancel_order", json::object{{"order_id", id}}, "k3");
  CHECK(o.service.orders().at(id).status == sagas::OffersService::OrderStatus::cancelled);
}

TEST_CASE("offers: a repeated create is answered from the record and makes one order") {
  Offers o;
  auto first = o.create("spa", "s1/create_order/do");
  auto again = o.create("spa", "s1/create_order/do");
  CHECK(first == again);
  CHECK(o.service.orders().size() == 1);
  CHECK(o.service.ledger().size() == 1);
}

TEST_CASE("offers: a non-positive price is refused") {
  Offers o;
  auto reply = o.send("offers.create_order",
                      json::object{{"user_id", "ann"}, {"offer_id", "spa"}, {"price", 0}}, "k1");
  CHECK(reply.error_code == "InvalidPrice");
  CHECK(o.service.orders().empty());
}
