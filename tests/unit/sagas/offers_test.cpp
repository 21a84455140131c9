// The offers participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"

#include "sagaflow/sagas/offers.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;
using OrderStatus = sagas::OffersService::OrderStatus;

namespace {

struct Offers {
  Offers() { service.register_handlers(dispatcher); }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message create_order(const std::string& offer, const std::string& reference,
                       const std::string& key, std::int64_t price = 300) {
    return send(
        "offers.create_order",
        json::object{
            {"reference", reference}, {"user_id", "ann"}, {"offer_id", offer}, {"price", price}},
        key);
  }
  std::string create(const std::string& offer, const std::string& reference,
                     const std::string& key) {
    auto reply = create_order(offer, reference, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(body_of(reply).at("order_id").as_string());
  }
  Message cancel(const std::string& reference, const std::string& key) {
    return send("offers.cancel_order", json::object{{"reference", reference}}, key);
  }
  sagas::OffersService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("offers: an order is pending until fulfilled, and a bought order cannot be cancelled") {
  Offers o;
  auto id = o.create("spa", "s1", "k1");
  auto bought = o.send("offers.fulfil", json::object{{"order_id", id}}, "k2");
  CHECK(body_of(bought).at("status") == "bought");
  auto cancel = o.cancel("s1", "k3");
  CHECK(cancel.outcome == ReplyOutcome::success);
  CHECK(body_of(cancel).at("order_id") == json::value(id));
  CHECK(body_of(cancel).at("status") == "bought");
  CHECK(body_of(cancel).at("done") == false);
  CHECK(o.service.ledger().size() == 2);  // create and fulfil; the cancel changed nothing
}

TEST_CASE("offers: a sold-out offer is refused at fulfilment and the order can be cancelled") {
  Offers o;
  o.service.sell_out("concert");
  auto id = o.create("concert", "s1", "k1");
  auto fulfil = o.send("offers.fulfil", json::object{{"order_id", id}}, "k2");
  CHECK(fulfil.outcome == ReplyOutcome::business_failure);
  CHECK(fulfil.error_code == "OfferSoldOut");
  o.cancel("s1", "k3");
  CHECK(o.service.orders().at(id).status == OrderStatus::cancelled);
}

TEST_CASE("offers: cancel_order finds the order by its reference and cancels it once") {
  Offers o;
  auto id = o.create("spa", "s1", "s1/create_order/do");
  auto other = o.create("spa", "s2", "s2/create_order/do");
  CHECK(o.service.order_id_by_reference("s1") == id);
  auto first = o.cancel("s1", "s1/create_order/undo");
  REQUIRE(first.outcome == ReplyOutcome::success);
  CHECK(body_of(first).at("order_id") == json::value(id));
  CHECK(body_of(first).at("status") == "cancelled");
  CHECK(body_of(first).at("done") == true);
  // Repeated with the same key: answered from the record. Under another key: nothing to undo.
  CHECK(o.cancel("s1", "s1/create_order/undo").body == first.body);
  auto again = o.cancel("s1", "k9");
  CHECK(body_of(again).at("status") == "cancelled");
  CHECK(body_of(again).at("done") == false);
  CHECK(o.service.orders().at(id).status == OrderStatus::cancelled);
  CHECK(o.service.orders().at(other).status == OrderStatus::pending);  // another reference
  REQUIRE(o.service.ledger().size() == 3);                             // two creates, one cancel
  CHECK(o.service.ledger()[2].kind == "cancel");
  CHECK(o.service.ledger()[2].command_id == "s1/create_order/undo");
  CHECK(o.service.ledger()[2].order_id == id);
}

TEST_CASE("offers: cancelling a reference never ordered succeeds, changes nothing, and closes it") {
  Offers o;
  auto cancel = o.cancel("s1", "s1/create_order/undo");
  REQUIRE(cancel.outcome == ReplyOutcome::success);
  CHECK(body_of(cancel).at("done") == false);
  CHECK(body_of(cancel).at("status") == "unknown");
  CHECK(o.service.ledger().empty());
  // The create_order held up in the broker arrives after its saga gave up: it makes no order.
  auto late = o.create_order("spa", "s1", "s1/create_order/do");
  CHECK(late.outcome == ReplyOutcome::business_failure);
  CHECK(late.error_code == "OrderCancelled");
  CHECK(o.service.orders().empty());
  CHECK(o.service.ledger().empty());
}

TEST_CASE("offers: a repeated create is answered from the record and makes one order") {
  Offers o;
  auto first = o.create("spa", "s1", "s1/create_order/do");
  auto again = o.create("spa", "s1", "s1/create_order/do");
  CHECK(first == again);
  CHECK(o.service.orders().size() == 1);
  CHECK(o.service.ledger().size() == 1);
}

TEST_CASE("offers: one order per reference, whatever the idempotency key") {
  Offers o;
  auto first = o.create("spa", "s1", "k1");
  CHECK(o.create("spa", "s1", "k2") == first);
  CHECK(o.create_order("concert", "s1", "k3").error_code == "ReferenceReused");
  CHECK(o.create_order("spa", "s1", "k4", 301).error_code == "ReferenceReused");
  CHECK(o.service.orders().size() == 1);
  CHECK(o.service.ledger().size() == 1);
  o.cancel("s1", "k5");
  CHECK(o.create_order("spa", "s1", "k6").error_code == "OrderCancelled");
  CHECK(o.service.orders().size() == 1);
}

TEST_CASE("offers: a non-positive price or a missing reference is refused") {
  Offers o;
  CHECK(o.create_order("spa", "s1", "k1", 0).error_code == "InvalidPrice");
  CHECK(o.create_order("spa", "", "k2").error_code == "MissingReference");
  CHECK(o.create_order("spa", "", "k2").outcome == ReplyOutcome::business_failure);
  CHECK(o.service.orders().empty());
  // A cancel without its reference cannot be mended by a retry.
  auto malformed = o.send("offers.cancel_order", json::object{{"order_id", "ord-1"}}, "k3");
  CHECK(malformed.outcome == ReplyOutcome::business_failure);
  CHECK(malformed.error_code == "MalformedPayload");
}
