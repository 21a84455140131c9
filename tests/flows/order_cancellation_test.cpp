// order_cancellation (seed 004 "cancel order") end to end: an order paid by order_payment is
// cancelled (begin_cancel, restore, refund as the pivot, mark_cancelled, send_cancel). Before the
// refund a failure undoes the cancel (inventory.reserve takes the units back, orders.abort_cancel
// makes the order paid again); after it the saga only goes forward.
#include <doctest/doctest.h>

#include "commerce_world.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using OrderStatus = sagas::OrdersService::Status;

namespace {

const Strings kCancelled{"orders.begin_cancel", "inventory.restore", "billing.refund",
                         "orders.mark_cancelled", "platform.send_cancel"};

struct OrderCancellation : sagaflow::testing::CommerceWorld {
  OrderCancellation() : CommerceWorld({"order_payment", "order_cancellation"}) {
    billing.open_account("ann", 100);
    inventory.add_stock("mug", 5);
    notifications.save_contact("ann", "ann@example.com");
  }
  // A paid order of two mugs at 15 (30 charged); the balance is then 70 and the stock 3.
  std::string paid_order(std::int64_t quantity = 2) {
    auto saga = world.start(
        "order_payment",
        json::object{
            {"user_id", "ann"}, {"product_id", "mug"}, {"quantity", quantity}, {"price", 15}});
    REQUIRE(world.status(saga) == "completed");
    return std::string(world.result(saga, "create_order").at("order_id").as_string());
  }
  std::string cancel(const std::string& order) {
    return world.start("order_cancellation", json::object{{"order_id", order}});
  }
};

}  // namespace

TEST_CASE("order_cancellation: a paid order is cancelled, its stock restored and refunded") {
  OrderCancellation f;
  auto order = f.paid_order();
  auto id = f.cancel(order);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == kCancelled);
  CHECK(f.world.events(id) == Strings{"OrderCancelled"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.orders.order(order).status == OrderStatus::cancelled);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.inventory.product("mug").reserved == 0);
  auto account = f.billing.account("ann");
  CHECK(account.balance == 100);
  CHECK(account.refunded == 30);
  auto records = f.platform.records();
  REQUIRE(records.size() == 2);
  CHECK(records[1].kind == "cancel");
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: an order that was never paid is refused as NotPaid") {
  OrderCancellation f;
  auto saga = f.world.start("order_payment", json::object{{"user_id", "ann"},
                                                          {"product_id", "mug"},
                                                          {"quantity", 9},  // out of stock
                                                          {"price", 15}});
  REQUIRE(f.world.status(saga) == "compensated");
  auto order = std::string(f.world.result(saga, "create_order").at("order_id").as_string());
  auto id = f.cancel(order);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"orders.begin_cancel"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.orders.order(order).status == OrderStatus::not_paid);
  CHECK(f.billing.account("ann").refunded == 0);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: a second cancel of the same order refunds nothing more") {
  OrderCancellation f;
  auto order = f.paid_order();
  CHECK(f.world.status(f.cancel(order)) == "completed");
  auto again = f.cancel(order);
  CHECK(f.world.status(again) == "compensated");
  CHECK(f.world.commands(again) == Strings{"orders.begin_cancel"});
  CHECK(f.world.compensations(again).empty());
  CHECK(f.billing.account("ann").refunded == 30);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: restore failing for good returns the order to paid") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.world.fail_next("inventory.restore", 3);
  auto id = f.cancel(order);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"orders.abort_cancel"});
  CHECK(f.orders.order(order).status == OrderStatus::paid);
  CHECK(f.inventory.product("mug").stock == 3);
  CHECK(f.billing.account("ann").balance == 70);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: a refund failing for good takes the units back, order paid again") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.world.fail_next("billing.refund", 3);
  auto id = f.cancel(order);
  f.world.advance(30s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"inventory.reserve", "orders.abort_cancel"});
  CHECK(f.orders.order(order).status == OrderStatus::paid);
  CHECK(f.inventory.product("mug").stock == 3);  // restored, then taken back
  CHECK(f.inventory.product("mug").reserved == 2);
  CHECK(f.billing.account("ann").balance == 70);
  CHECK(f.billing.account("ann").refunded == 0);
  CHECK(f.platform.records().size() == 1);  // no cancel sent
  CHECK(f.invariants_hold());
  // The order can still be cancelled later.
  CHECK(f.world.status(f.cancel(order)) == "completed");
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: the platform down several times is retried until it accepts") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.world.fail_next("platform.send_cancel", 4);
  auto id = f.cancel(order);
  f.world.advance(1min);
  CHECK(f.world.status(id) == "completed");
  auto commands = f.world.commands(id);
  CHECK(std::count(commands.begin(), commands.end(), "platform.send_cancel") == 5);
  CHECK(f.world.compensations(id).empty());
  CHECK(f.platform.records().size() == 2);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: mark_cancelled failing past the refund parks, never compensates") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.world.fail_next("orders.mark_cancelled", 10);
  auto id = f.cancel(order);
  f.world.advance(15min);
  CHECK(f.world.status(id) == "failed");
  CHECK(f.world.compensations(id).empty());
  auto commands = f.world.commands(id);
  CHECK(std::count(commands.begin(), commands.end(), "orders.mark_cancelled") == 10);
  CHECK(f.billing.account("ann").refunded == 30);  // the refund stays: past the pivot
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.orders.order(order).status == OrderStatus::cancelling);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: a refund whose reply was lost is retried and paid back once") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.world.lose_reply_of_next("billing.refund");
  auto id = f.cancel(order);
  f.world.advance(10s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.billing.account("ann").refunded == 30);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.invariants_hold());
}

TEST_CASE("order_cancellation: the platform down for good parks the refunded cancellation") {
  OrderCancellation f;
  auto order = f.paid_order();
  f.platform.go_down();
  auto id = f.cancel(order);
  f.world.advance(20min);
  CHECK(f.world.status(id) == "failed");
  CHECK(f.world.compensations(id).empty());
  auto commands = f.world.commands(id);
  CHECK(std::count(commands.begin(), commands.end(), "platform.send_cancel") == 12);
  CHECK(f.orders.order(order).status == OrderStatus::cancelled);
  CHECK(f.billing.account("ann").balance == 100);
  CHECK(f.inventory.product("mug").stock == 5);
  CHECK(f.invariants_hold());
}
