// The orders participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"
#include "sagaflow/sagas/orders.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;
using Status = sagas::OrdersService::Status;

namespace {

struct Orders {
  Orders() { service.register_handlers(dispatcher); }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  std::string create(const std::string& key, std::int64_t quantity = 2, std::int64_t price = 15) {
    auto reply = send(
        "orders.create",
        json::object{
            {"user_id", "ann"}, {"product_id", "mug"}, {"quantity", quantity}, {"price", price}},
        key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(body_of(reply).at("order_id").as_string());
  }
  Message on(const std::string& type, const std::string& order, const std::string& key) {
    return send(type, json::object{{"order_id", order}}, key);
  }
  Message mark_paid(const std::string& order, std::int64_t amount, const std::string& key) {
    return send("orders.mark_paid", json::object{{"order_id", order}, {"amount", amount}}, key);
  }
  sagas::OrdersService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("orders: create computes the total and is applied once per idempotency key") {
  Orders o;
  auto id = o.create("s1/create_order/do");
  CHECK(o.create("s1/create_order/do") == id);
  CHECK(o.service.orders().size() == 1);
  CHECK(o.service.order(id).total == 30);
  CHECK(o.service.order(id).status == Status::created);
  auto bad = o.send(
      "orders.create",
      json::object{{"user_id", "ann"}, {"product_id", "mug"}, {"quantity", 0}, {"price", 15}},
      "k2");
  CHECK(bad.error_code == "InvalidOrder");
}

TEST_CASE("orders: reject makes a created order not_paid; rejecting nothing changes nothing") {
  Orders o;
  CHECK(body_of(o.on("orders.reject", "order-404", "k0")).at("status") == "unknown");
  auto id = o.create("k1");
  CHECK(body_of(o.on("orders.reject", id, "k2")).at("status") == "not_paid");
  CHECK(o.mark_paid(id, 30, "k3").error_code == "NotPayable");
  CHECK(o.service.ledger().size() == 2);  // create, reject
}

TEST_CASE("orders: only a paid order can be cancelled") {
  Orders o;
  auto id = o.create("k1");
  auto unpaid = o.on("orders.begin_cancel", id, "k2");
  CHECK(unpaid.outcome == ReplyOutcome::business_failure);
  CHECK(unpaid.error_code == "NotPaid");
  CHECK(o.on("orders.begin_cancel", "order-404", "k3").error_code == "UnknownOrder");
  CHECK(o.mark_paid(id, 25, "k4").outcome == ReplyOutcome::success);
  auto cancelling = o.on("orders.begin_cancel", id, "k5");
  REQUIRE(cancelling.outcome == ReplyOutcome::success);
  auto body = body_of(cancelling);
  CHECK(body.at("user_id") == "ann");
  CHECK(body.at("product_id") == "mug");
  CHECK(body.at("quantity") == 2);
  CHECK(body.at("amount") == 25);
  CHECK(o.on("orders.begin_cancel", id, "k6").error_code == "NotCancellable");
  CHECK(body_of(o.on("orders.mark_cancelled", id, "k7")).at("status") == "cancelled");
  CHECK(o.on("orders.begin_cancel", id, "k8").error_code == "NotCancellable");
}

TEST_CASE("orders: abort_cancel returns a cancelling order to paid, and nothing else") {
  Orders o;
  auto id = o.create("k1");
  CHECK(body_of(o.on("orders.abort_cancel", id, "k2")).at("status") == "created");
  o.mark_paid(id, 30, "k3");
  o.on("orders.begin_cancel", id, "k4");
  CHECK(body_of(o.on("orders.abort_cancel", id, "k5")).at("status") == "paid");
  CHECK(o.on("orders.mark_cancelled", id, "k6").error_code == "NotCancelling");
  CHECK(o.service.order(id).status == Status::paid);
  CHECK(o.service.ledger().size() == 4);  // create, mark_paid, begin_cancel, abort_cancel
}
