// The inventory participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/inventory.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;

namespace {

struct Inventory {
  Inventory() {
    service.add_stock("mug", 5);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message reserve(const std::string& order, std::int64_t quantity, const std::string& key,
                  const std::string& product = "mug") {
    return send("inventory.reserve",
                json::object{{"order_id", order}, {"product_id", product}, {"quantity", quantity}},
                key);
  }
  Message restore(const std::string& order, const std::string& key) {
    return send("inventory.restore", json::object{{"order_id", order}}, key);
  }
  sagas::InventoryService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("inventory: reserve reduces the stock once per idempotency key") {
  Inventory i;
  auto reply = i.reserve("o1", 2, "s1/reserve_stock/do");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  CHECK(body_of(reply).at("stock") == 3);
  i.reserve("o1", 2, "s1/reserve_stock/do");  // a redelivery
  CHECK(i.service.product("mug").stock == 3);
  CHECK(i.service.product("mug").reserved == 2);
  CHECK(i.reserve("o1", 1, "s2/reserve_stock/do").error_code == "AlreadyReserved");
  CHECK(i.service.ledger().size() == 1);
  CHECK(i.service.balanced());
}

TEST_CASE("inventory: more than the stock is OutOfStock and takes nothing") {
  Inventory i;
  auto reply = i.reserve("o1", 6, "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "OutOfStock");
  CHECK(i.reserve("o2", 1, "k2", "teapot").error_code == "UnknownProduct");
  CHECK(i.reserve("o3", 0, "k3").error_code == "InvalidQuantity");
  CHECK(i.service.product("mug").stock == 5);
  CHECK(i.service.ledger().empty());
  CHECK(i.service.balanced());
}

TEST_CASE("inventory: restore gives the order's units back once, restoring nothing is a no-op") {
  Inventory i;
  auto never = i.restore("o404", "k0");
  CHECK(never.outcome == ReplyOutcome::success);
  CHECK(body_of(never).at("done") == false);
  i.reserve("o1", 4, "k1");
  auto restored = i.restore("o1", "k2");
  CHECK(body_of(restored).at("done") == true);
  CHECK(body_of(restored).at("quantity") == 4);
  CHECK(body_of(i.restore("o1", "k3")).at("done") == false);
  CHECK(i.service.product("mug").stock == 5);
  CHECK(i.service.product("mug").reserved == 0);
  CHECK(i.service.balanced());
}

TEST_CASE("inventory: a restored order may take its units again (a cancellation undone)") {
  Inventory i;
  i.reserve("o1", 2, "k1");
  i.restore("o1", "k2");
  CHECK(i.reserve("o1", 2, "k3").outcome == ReplyOutcome::success);
  CHECK(i.service.product("mug").reserved == 2);
  CHECK(i.service.ledger().size() == 3);
  CHECK(i.service.balanced());
}
