// points_charge (seed 004, charge points) end to end with the payment gateway and points
// participants: the happy path and every step's failure, with the compensations in order and the
// money and points invariants.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/payment_gateway.hpp"
#include "sagaflow/sagas/points.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct PointsCharge {
  PointsCharge() {
    points.open_account("ann", 100);
    gateway.register_method("card-ann", 10'000);
    points.register_handlers(points_dispatcher);
    gateway.register_handlers(gateway_dispatcher);
    world.serve("points", points_dispatcher);
    world.serve("payment_gateway", gateway_dispatcher);
  }
  std::string charge(std::int64_t amount, const std::string& method = "card-ann",
                     const std::string& user = "ann") {
    return world.start("points_charge",
                       json::object{{"user_id", user}, {"amount", amount}, {"method", method}});
  }
  // Lets time pass in small steps, so that every timeout and backoff on the way fires.
  // Money and points both conserved, and every point added is paid by a charge still captured.
  bool invariants() const {
    std::int64_t net_added = 0;
    for (const auto& e : points.ledger())
      net_added += (e.kind == "add" ? e.amount : 0) - (e.kind == "revoke" ? e.amount : 0);
    return gateway.conserved() && points.conserved() && net_added == gateway.captured_total();
  }
  std::size_t effects(const std::string& kind) const {
    std::size_t n = 0;
    for (const auto& e : points.ledger()) n += e.kind == kind;
    for (const auto& e : gateway.ledger()) n += e.kind == kind;
    return n;
  }

  sagaflow::testing::FlowWorld world{{"points_charge"}};
  sagas::PointsService points;
  sagas::PaymentGatewayService gateway;
  worker::Dispatcher points_dispatcher;
  worker::Dispatcher gateway_dispatcher;
};

}  // namespace

TEST_CASE("points_charge: a paid charge credits the points once and publishes points.charged") {
  PointsCharge f;
  auto id = f.charge(2'500);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"payment_gateway.charge", "points.add"});
  CHECK(f.world.events(id) == Strings{"points.charged"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.gateway.method("card-ann").funds == 7'500);
  CHECK(f.points.account("ann").balance == 2'600);
  CHECK(f.world.result(id, "add_points").at("balance") == 2'600);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a declined card charges nothing, adds nothing, undoes nothing") {
  PointsCharge f;
  f.gateway.register_method("card-blocked", 10'000);
  f.gateway.decline("card-blocked");
  auto id = f.charge(2'500, "card-blocked");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"payment_gateway.charge"});  // not retried
  CHECK(f.world.compensations(id).empty());
  CHECK(f.points.account("ann").balance == 100);
  CHECK(f.gateway.method("card-blocked").funds == 10'000);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: an unknown payment method fails at once with nothing to undo") {
  PointsCharge f;
  auto id = f.charge(2'500, "card-nobody");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"payment_gateway.charge"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.gateway.ledger().empty());
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a frozen account refuses the points and the charge is refunded") {
  PointsCharge f;
  f.points.freeze("ann");
  auto id = f.charge(2'500);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"payment_gateway.charge", "points.add"});
  CHECK(f.world.compensations(id) == Strings{"payment_gateway.refund"});
  CHECK(f.gateway.method("card-ann").funds == 10'000);
  CHECK(f.points.account("ann").balance == 100);
  CHECK(f.effects("refund") == 1);
  CHECK(f.world.events(id).empty());
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a points service down through every retry refunds the charge") {
  PointsCharge f;
  f.world.fail_next("points.add", 3);
  auto id = f.charge(2'500);
  f.world.advance(5s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) ==
        Strings{"payment_gateway.charge", "points.add", "points.add", "points.add"});
  // add never ran, so it is not undone: only the charge is.
  CHECK(f.world.compensations(id) == Strings{"payment_gateway.refund"});
  CHECK(f.gateway.method("card-ann").funds == 10'000);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a gateway down once is retried and charges once") {
  PointsCharge f;
  f.world.fail_next("payment_gateway.charge");
  auto id = f.charge(1'000);
  f.world.advance(1s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) ==
        Strings{"payment_gateway.charge", "payment_gateway.charge", "points.add"});
  CHECK(f.effects("charge") == 1);
  CHECK(f.gateway.method("card-ann").funds == 9'000);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a charge applied but never answered is refunded by its reference") {
  PointsCharge f;
  f.world.lose_reply_of_next("payment_gateway.charge");  // charged, reply lost
  f.world.drop_next("payment_gateway.charge", 2);        // the retries never arrive
  auto id = f.charge(1'000);
  f.world.advance(45s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.result(id, "charge").is_null());
  CHECK(f.world.compensations(id) == Strings{"payment_gateway.refund"});
  CHECK(f.effects("charge") == 1);
  CHECK(f.effects("refund") == 1);
  CHECK(f.gateway.method("card-ann").funds == 10'000);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: points added but never answered are revoked, then the charge refunded") {
  PointsCharge f;
  f.world.lose_reply_of_next("points.add");  // credited, reply lost
  f.world.drop_next("points.add", 2);
  auto id = f.charge(1'000);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"points.revoke", "payment_gateway.refund"});
  CHECK(f.effects("add") == 1);
  CHECK(f.effects("revoke") == 1);
  CHECK(f.points.account("ann").balance == 100);
  CHECK(f.gateway.method("card-ann").funds == 10'000);
  CHECK(f.invariants());
}

TEST_CASE("points_charge: a redelivered add credits the points once") {
  PointsCharge f;
  f.world.duplicate("points.add");
  auto id = f.charge(700);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.effects("add") == 1);
  CHECK(f.points.account("ann").balance == 800);
  CHECK(f.invariants());
}
