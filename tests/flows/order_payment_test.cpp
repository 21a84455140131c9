// order_payment (seed 001 second block, seed 004 "create order") end to end with the orders,
// coupons, inventory, billing, platform and notifications participants: with and without a
// coupon, every step's failure with its compensations in order, the pivot (orders.mark_paid)
// after which the saga only goes forward, and the FLOWS.md invariants (money conserved,
// stock + reserved == initial, each coupon used at most once). An order created but never
// answered (its replies lost) is rejected by the saga's reference.
#include <doctest/doctest.h>

#include "commerce_world.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using OrderStatus = sagas::OrdersService::Status;

namespace {

struct OrderPayment : sagaflow::testing::CommerceWorld {
  OrderPayment() : CommerceWorld({"order_payment"}) {
    billing.open_account("ann", 100);
    billing.open_account("bob", 100);
    inventory.add_stock("mug", 5);
    notifications.save_contact("ann", "ann@example.com");
    notifications.save_contact("bob", "bob@example.com");
    coupons.add_coupon("TEN", 10);
  }
  // Two mugs at 15: a total of 30.
  std::string pay(std::int64_t quantity = 2, const std::string& coupon = {},
                  const std::string& user = "ann") {
    json::object input{
        {"user_id", user}, {"product_id", "mug"}, {"quantity", quantity}, {"price", 15}};
    if (!coupon.empty()) input["coupon"] = coupon;
    return world.start("order_payment", input);
  }
  std::string order_of(const std::string& saga) {
    return std::string(world.result(saga, "create_order").at("order_id").as_string());
  }
  // The body of the first message of this type the saga sent.
  json::value body_sent(const std::string& id, const std::string& type) const {
    for (const auto& m : world.sent()) {
      if (m.correlation_id == id && m.type == type) return json::parse(m.body);
    }
    FAIL("saga " << id << " sent no " << type);
    return nullptr;
  }
  Strings order_effects() const {
    Strings out;
    for (const auto& e : orders.ledger()) out.push_back(e.kind + " " + e.command_id);
    return out;
  }
  bool no_order_waiting() const {
    for (const auto& [id, order] : orders.orders()) {
      if (order.status == OrderStatus::created) return false;
    }
    return true;
  }
};

const Strings kPaid{"orders.create",    "inventory.reserve",   "billing.charge",
                    "orders.mark_paid", "platform.send_order", "notifications.send_email"};
const Strings kPaidWithCoupon{"orders.create",           "coupons.apply",    "inventory.reserve",
                              "billing.charge",          "orders.mark_paid", "platform.send_order",
                              "notifications.send_email"};

}  // namespace

TEST_CASE("order_payment: without a coupon charges the total, reduces stock and sends 'paid'") {
  OrderPayment f;
  auto id = f.pay();
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == kPaid);
  CHECK(f.world.events(id) == Strings{"OrderCreated", "OrderPaid"});
  CHECK(f.world.compensations(id).empty());
  auto order = f.order_of(id);
  CHECK(f.orders.order(order).status == OrderStatus::paid);
  CHECK(f.orders.order(order).paid == 30);
  CHECK(f.billing.account("ann").balance == 70);
  CHECK(f.inventory.product("mug").stock == 3);
  CHECK(f.inventory.product("mug").reserved == 2);
  REQUIRE(f.platform.records().size() == 1);
  CHECK(f.platform.records()[0].amount == 30);
  CHECK(f.notifications.templates_sent_for(order) == Strings{"paid"});
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: with a coupon charges the total minus the discount") {
  OrderPayment f;
  auto id = f.pay(2, "TEN");
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == kPaidWithCoupon);
  auto order = f.order_of(id);
  CHECK(f.billing.account("ann").balance == 80);
  CHECK(f.orders.order(order).paid == 20);
  CHECK(f.coupons.coupon("TEN").status == sagas::CouponsService::Status::used);
  CHECK(f.coupons.coupon("TEN").used_by == order);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: a coupon used by two sagas pays the first and compensates the second") {
  OrderPayment f;
  auto first = f.pay(1, "TEN");
  auto second = f.pay(1, "TEN", "bob");
  CHECK(f.world.status(first) == "completed");
  CHECK(f.world.status(second) == "compensated");
  // The last command is on_compensated's "not paid" email.
  CHECK(f.world.commands(second) ==
        Strings{"orders.create", "coupons.apply", "notifications.send_email"});
  CHECK(f.world.compensations(second) == Strings{"orders.reject"});
  CHECK(f.world.events(second) == Strings{"OrderCreated", "OrderNotPaid"});
  CHECK(f.coupons.coupon("TEN").used_by == f.order_of(first));
  CHECK(f.orders.order(f.order_of(second)).status == OrderStatus::not_paid);
  CHECK(f.billing.account("bob").balance == 100);
  CHECK(f.notifications.templates_sent_for(f.order_of(second)) == Strings{"not_paid"});
  // The order is rejected by the saga's reference, not by what orders.create answered.
  CHECK(f.body_sent(second, "orders.create").at("reference") == json::value(second));
  CHECK(f.body_sent(second, "orders.reject") == json::value(json::object{{"reference", second}}));
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: an unknown or expired coupon rejects the order and sends 'not paid'") {
  OrderPayment f;
  f.coupons.add_coupon("OLD", 5);
  f.coupons.expire("OLD");
  for (std::string coupon : {"NOPE", "OLD"}) {
    auto id = f.pay(2, coupon);
    CHECK(f.world.status(id) == "compensated");
    CHECK(f.world.compensations(id) == Strings{"orders.reject"});
    CHECK(f.notifications.templates_sent_for(f.order_of(id)) == Strings{"not_paid"});
  }
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: out of stock releases the coupon and rejects the order") {
  OrderPayment f;
  auto id = f.pay(6, "TEN");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) ==
        Strings{"orders.create", "coupons.apply", "inventory.reserve", "notifications.send_email"});
  CHECK(f.world.compensations(id) == Strings{"coupons.release", "orders.reject"});
  CHECK(f.coupons.coupon("TEN").status == sagas::CouponsService::Status::active);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.invariants_hold());
  // The released coupon can be used by the next order.
  CHECK(f.world.status(f.pay(1, "TEN")) == "completed");
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: insufficient funds restores stock, releases the coupon, rejects") {
  OrderPayment f;
  auto id = f.pay(5, "TEN");  // 75 - 10 = 65 is fine; a second order of 75 is not
  CHECK(f.world.status(id) == "completed");
  f.inventory.add_stock("mug", 5);
  f.coupons.add_coupon("FIVE", 5);
  auto broke = f.pay(5, "FIVE");  // 75 - 5 = 70 > 35
  CHECK(f.world.status(broke) == "compensated");
  CHECK(f.world.commands(broke) == Strings{"orders.create", "coupons.apply", "inventory.reserve",
                                           "billing.charge", "notifications.send_email"});
  CHECK(f.world.compensations(broke) ==
        Strings{"inventory.restore", "coupons.release", "orders.reject"});
  CHECK(f.world.events(broke) == Strings{"OrderCreated", "OrderNotPaid"});
  auto order = f.order_of(broke);
  CHECK(f.orders.order(order).status == OrderStatus::not_paid);
  CHECK(f.notifications.templates_sent_for(order) == Strings{"not_paid"});
  CHECK(f.billing.account("ann").balance == 35);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.coupons.coupon("FIVE").status == sagas::CouponsService::Status::active);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: a charge whose every attempt is lost refunds nothing and compensates") {
  OrderPayment f;
  f.world.drop_next("billing.charge", 3);
  auto id = f.pay();
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  // A timed-out charge may have taken effect, so it is refunded too: here there is nothing.
  CHECK(f.world.compensations(id) ==
        Strings{"billing.refund", "inventory.restore", "orders.reject"});
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.billing.ledger().empty());
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: a charge whose reply was lost is retried and charged once") {
  OrderPayment f;
  f.world.lose_reply_of_next("billing.charge");
  auto id = f.pay();
  f.world.advance(10s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.billing.account("ann").balance == 70);
  CHECK(f.billing.ledger().size() == 1);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: commands delivered twice are applied once") {
  OrderPayment f;
  for (auto type : {"orders.create", "coupons.apply", "inventory.reserve", "billing.charge",
                    "orders.mark_paid", "platform.send_order", "notifications.send_email"}) {
    f.world.duplicate(type);
  }
  auto id = f.pay(2, "TEN");
  CHECK(f.world.status(id) == "completed");
  CHECK(f.billing.account("ann").balance == 80);
  CHECK(f.inventory.product("mug").stock == 3);
  CHECK(f.orders.orders().size() == 1);
  CHECK(f.platform.records().size() == 1);
  CHECK(f.notifications.outbox().size() == 1);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: mark_paid (the pivot) failing for good refunds and compensates all") {
  OrderPayment f;
  f.world.fail_next("orders.mark_paid", 3);
  auto id = f.pay(2, "TEN");
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) ==
        Strings{"billing.refund", "inventory.restore", "coupons.release", "orders.reject"});
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.billing.account("ann").refunded == 20);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.coupons.coupon("TEN").status == sagas::CouponsService::Status::active);
  CHECK(f.orders.order(f.order_of(id)).status == OrderStatus::not_paid);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: the platform down several times is retried until it accepts") {
  OrderPayment f;
  f.world.fail_next("platform.send_order", 5);
  auto id = f.pay();
  f.world.advance(2min);
  CHECK(f.world.status(id) == "completed");
  auto commands = f.world.commands(id);
  CHECK(std::count(commands.begin(), commands.end(), "platform.send_order") == 6);
  CHECK(commands.back() == "notifications.send_email");
  CHECK(f.world.compensations(id).empty());  // past the pivot it never compensates
  CHECK(f.platform.records().size() == 1);
  CHECK(f.orders.order(f.order_of(id)).status == OrderStatus::paid);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: the platform outage outlasting the retries parks the paid saga") {
  OrderPayment f;
  f.platform.go_down();
  auto id = f.pay();
  f.world.advance(20min);
  CHECK(f.world.status(id) == "failed");
  auto commands = f.world.commands(id);
  CHECK(std::count(commands.begin(), commands.end(), "platform.send_order") == 12);
  CHECK(f.world.compensations(id).empty());
  auto order = f.order_of(id);
  CHECK(f.orders.order(order).status == OrderStatus::paid);
  CHECK(f.billing.account("ann").balance == 70);  // the money stays charged: no refund
  CHECK(f.inventory.product("mug").stock == 3);
  CHECK(f.notifications.templates_sent_for(order).empty());  // neither 'paid' nor 'not paid'
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: a 'paid' email refused after the pivot parks instead of compensating") {
  OrderPayment f;
  f.billing.open_account("cat", 100);  // cat has no saved contact
  auto id = f.pay(2, {}, "cat");
  CHECK(f.world.status(id) == "failed");
  CHECK(f.world.compensations(id).empty());
  CHECK(f.orders.order(f.order_of(id)).status == OrderStatus::paid);
  CHECK(f.billing.account("cat").balance == 70);
  CHECK(f.platform.records().size() == 1);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: an invalid order fails at once, sends no email, publishes OrderNotPaid") {
  OrderPayment f;
  auto id = f.pay(0);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"orders.create"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.world.events(id) == Strings{"OrderNotPaid"});
  CHECK(f.notifications.outbox().empty());
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: a 'not paid' email that cannot be sent parks the compensated saga") {
  OrderPayment f;
  f.billing.open_account("cat", 10);  // cat has no saved contact and too little money
  auto id = f.pay(2, {}, "cat");
  f.world.advance(2min);
  CHECK(f.world.status(id) == "failed");
  CHECK(f.world.compensations(id) == Strings{"inventory.restore", "orders.reject"});
  CHECK(f.orders.order(f.order_of(id)).status == OrderStatus::not_paid);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.billing.account("cat").balance == 10);
  CHECK(f.invariants_hold());
}

TEST_CASE(
    "order_payment: an order created but never answered is rejected by the saga's reference") {
  OrderPayment f;
  for (int i = 0; i < 3; ++i) f.world.lose_reply_of_next("orders.create");
  auto id = f.pay(2, "TEN");
  f.world.advance(30s);  // every attempt times out: the step fails, maybe applied
  CHECK(f.world.status(id) == "compensated");
  // No order id was ever learnt: no "not paid" email (it needs one), OrderNotPaid still goes out.
  CHECK(f.world.commands(id) == Strings{"orders.create", "orders.create", "orders.create"});
  CHECK(f.world.result(id, "create_order").is_null());
  CHECK(f.world.compensations(id) == Strings{"orders.reject"});
  CHECK(f.body_sent(id, "orders.reject") == json::value(json::object{{"reference", id}}));
  CHECK(f.world.events(id) == Strings{"OrderNotPaid"});
  // The order the participant made (once, however often asked) is rejected, once.
  REQUIRE(f.orders.orders().size() == 1);
  auto order = f.orders.order_id_by_reference(id);
  CHECK(f.orders.order(order).status == OrderStatus::not_paid);
  CHECK(f.order_effects() ==
        Strings{"create " + id + "/create_order/do", "reject " + id + "/create_order/undo"});
  CHECK(f.no_order_waiting());
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.inventory.product("mug").reserved == 0);
  CHECK(f.coupons.coupon("TEN").status == sagas::CouponsService::Status::active);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.billing.ledger().empty());
  CHECK(f.invariants_hold());
}

TEST_CASE("order_payment: an order command lost every time is compensated with nothing undone") {
  OrderPayment f;
  f.world.drop_next("orders.create", 3);
  auto id = f.pay();
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"orders.reject"});
  CHECK(f.world.events(id) == Strings{"OrderNotPaid"});
  CHECK(f.orders.orders().empty());
  CHECK(f.orders.ledger().empty());  // no create, and no reject effect
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.notifications.outbox().empty());
  CHECK(f.invariants_hold());
}
