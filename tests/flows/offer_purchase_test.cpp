// offer_purchase (seed 000) end to end with the points and offers participants: the happy path
// and every step's failure, with the compensations in order and the points invariant; and steps
// that timed out for good, applied (their replies lost) or not (the commands lost), undone by
// their references since the saga never learnt their results.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/offers.hpp"
#include "sagaflow/sagas/points.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct OfferPurchase {
  OfferPurchase() {
    points.open_account("ann", 1000);
    points.register_handlers(points_dispatcher);
    offers.register_handlers(offers_dispatcher);
    world.serve("points", points_dispatcher);
    world.serve("offers", offers_dispatcher);
  }
  std::string buy(const std::string& offer, std::int64_t price) {
    return world.start("offer_purchase",
                       json::object{{"user_id", "ann"}, {"offer_id", offer}, {"price", price}});
  }
  // The body of the first message of this type the saga sent.
  json::value body_sent(const std::string& id, const std::string& type) const {
    for (const auto& m : world.sent()) {
      if (m.correlation_id == id && m.type == type) return json::parse(m.body);
    }
    FAIL("saga " << id << " sent no " << type);
    return nullptr;
  }
  Strings offers_effects() const {
    Strings out;
    for (const auto& e : offers.ledger()) out.push_back(e.kind + " " + e.command_id);
    return out;
  }
  Strings points_effects() const {
    Strings out;
    for (const auto& e : points.ledger()) out.push_back(e.kind + " " + e.command_id);
    return out;
  }
  bool no_pending_order() const {
    for (const auto& [id, order] : offers.orders()) {
      if (order.status == sagas::OffersService::OrderStatus::pending) return false;
    }
    return true;
  }
  // No order is bought without exactly one debit that stayed debited.
  bool one_debit_per_bought_order() const {
    std::int64_t net_debits = 0;
    for (const auto& e : points.ledger()) net_debits += (e.kind == "debit") - (e.kind == "refund");
    std::int64_t bought = 0;
    for (const auto& [id, order] : offers.orders())
      bought += order.status == sagas::OffersService::OrderStatus::bought;
    return net_debits == bought;
  }

  sagaflow::testing::FlowWorld world{{"offer_purchase"}};
  sagas::PointsService points;
  sagas::OffersService offers;
  worker::Dispatcher points_dispatcher;
  worker::Dispatcher offers_dispatcher;
};

}  // namespace

TEST_CASE("offer_purchase: enough points buys the offer and spends the price once") {
  OfferPurchase f;
  auto id = f.buy("spa", 400);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) ==
        Strings{"offers.create_order", "points.reserve", "points.debit", "offers.fulfil"});
  CHECK(f.world.events(id) == Strings{"points.debited", "offer.purchased"});
  CHECK(f.world.compensations(id).empty());
  auto account = f.points.account("ann");
  CHECK(account.balance == 600);
  CHECK(account.spent == 400);
  CHECK(f.points.conserved());
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: not enough points cancels the order and reserves nothing") {
  OfferPurchase f;
  auto id = f.buy("spa", 1001);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"offers.create_order", "points.reserve"});
  CHECK(f.world.compensations(id) == Strings{"offers.cancel_order"});
  CHECK(f.points.account("ann").balance == 1000);
  CHECK(f.points.conserved());
  CHECK(f.offers.orders().begin()->second.status == sagas::OffersService::OrderStatus::cancelled);
  // The order is cancelled by the saga's reference, not by what create_order answered.
  CHECK(f.body_sent(id, "offers.create_order").at("reference") == json::value(id));
  CHECK(f.body_sent(id, "offers.cancel_order") == json::value(json::object{{"reference", id}}));
}

TEST_CASE("offer_purchase: a debit that keeps failing releases the points and cancels") {
  OfferPurchase f;
  f.world.fail_next("points.debit", 3);
  auto id = f.buy("spa", 400);
  f.world.advance(10s);  // past every retry's backoff
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"points.release", "offers.cancel_order"});
  CHECK(f.points.account("ann").balance == 1000);
  CHECK(f.points.account("ann").reserved == 0);
  CHECK(f.points.conserved());
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: an offer sold out after the debit refunds, releases and cancels") {
  OfferPurchase f;
  f.offers.sell_out("concert");
  auto id = f.buy("concert", 300);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) ==
        Strings{"points.refund", "points.release", "offers.cancel_order"});
  auto account = f.points.account("ann");
  CHECK(account.balance == 1000);
  CHECK(account.refunded == 300);
  CHECK(f.points.conserved());
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: a debit whose reply was lost is retried and applied once") {
  OfferPurchase f;
  f.world.lose_reply_of_next("points.debit");
  auto id = f.buy("spa", 400);
  f.world.advance(6s);  // the attempt times out (5s) and the retry is answered from the record
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"offers.create_order", "points.reserve", "points.debit",
                                        "points.debit", "offers.fulfil"});
  CHECK(f.points.account("ann").spent == 400);
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: an order made but never answered is cancelled by the saga's reference") {
  OfferPurchase f;
  for (int i = 0; i < 3; ++i) f.world.lose_reply_of_next("offers.create_order");
  auto id = f.buy("spa", 400);
  f.world.advance(30s);  // every attempt times out: the step fails, maybe applied
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) ==
        Strings{"offers.create_order", "offers.create_order", "offers.create_order"});
  CHECK(f.world.result(id, "create_order").is_null());  // the saga never learnt the order id
  CHECK(f.world.compensations(id) == Strings{"offers.cancel_order"});
  CHECK(f.body_sent(id, "offers.cancel_order") == json::value(json::object{{"reference", id}}));
  CHECK(f.world.events(id).empty());
  // The order the participant made (once, however often asked) is cancelled, once.
  REQUIRE(f.offers.orders().size() == 1);
  auto order = f.offers.order_id_by_reference(id);
  CHECK(f.offers.orders().at(order).status == sagas::OffersService::OrderStatus::cancelled);
  CHECK(f.offers_effects() ==
        Strings{"create " + id + "/create_order/do", "cancel " + id + "/create_order/undo"});
  CHECK(f.no_pending_order());
  CHECK(f.points.ledger().empty());
  CHECK(f.points.account("ann").balance == 1000);
  CHECK(f.points.conserved());
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: an order command lost every time is compensated with nothing undone") {
  OfferPurchase f;
  f.world.drop_next("offers.create_order", 3);
  auto id = f.buy("spa", 400);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"offers.cancel_order"});
  CHECK(f.offers.orders().empty());
  CHECK(f.offers.ledger().empty());  // no create, and no cancel effect
  CHECK(f.points.ledger().empty());
  CHECK(f.points.conserved());
}

TEST_CASE("offer_purchase: points held but never answered are released by the order") {
  OfferPurchase f;
  for (int i = 0; i < 3; ++i) f.world.lose_reply_of_next("points.reserve");
  auto id = f.buy("spa", 400);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) ==
        Strings{"offers.create_order", "points.reserve", "points.reserve", "points.reserve"});
  CHECK(f.world.result(id, "reserve_points").is_null());
  CHECK(f.world.compensations(id) == Strings{"points.release", "offers.cancel_order"});
  auto order = f.offers.order_id_by_reference(id);
  CHECK(f.body_sent(id, "points.release") == json::value(json::object{{"order_id", order}}));
  // The hold the participant made (once) is released, once; the order is cancelled.
  CHECK(f.points_effects() ==
        Strings{"reserve " + id + "/reserve_points/do", "release " + id + "/reserve_points/undo"});
  auto account = f.points.account("ann");
  CHECK(account.balance == 1000);
  CHECK(account.reserved == 0);
  CHECK(account.spent == 0);
  CHECK(f.points.conserved());
  CHECK(f.offers.orders().at(order).status == sagas::OffersService::OrderStatus::cancelled);
  CHECK(f.no_pending_order());
  CHECK(f.one_debit_per_bought_order());
}

TEST_CASE("offer_purchase: a reserve lost every time is compensated with nothing released") {
  OfferPurchase f;
  f.world.drop_next("points.reserve", 3);
  auto id = f.buy("spa", 400);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"points.release", "offers.cancel_order"});
  CHECK(f.points.ledger().empty());  // no reserve, and no release effect
  CHECK(f.points.account("ann").balance == 1000);
  CHECK(f.points.conserved());
  CHECK(f.offers_effects() ==
        Strings{"create " + id + "/create_order/do", "cancel " + id + "/create_order/undo"});
  CHECK(f.no_pending_order());
}
