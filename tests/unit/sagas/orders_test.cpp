// The orders participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/orders.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;
using Status = sagas::OrdersService::Status;

namespace {

struct Orders {
  Orders() { service.register_handlers(dispatcher); }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message create_order(const std::string& reference, const std::string& key,
                       std::int64_t quantity = 2, std::int64_t price = 15) {
    return send("orders.create",
                json::object{{"reference", reference},
                             {"user_id", "ann"},
                             {"product_id", "mug"},
                             {"quantity", quantity},
                             {"price", price}},
                key);
  }
  // An order under its own reference (the key, as the saga id is unique per saga).
  std::string create(const std::string& key, std::int64_t quantity = 2, std::int64_t price = 15,
                     std::string reference = {}) {
    auto reply = create_order(reference.empty() ? key : reference, key, quantity, price);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(body_of(reply).at("order_id").as_string());
  }
  Message reject(const std::string& reference, const std::string& key) {
    return send("orders.reject", json::object{{"reference", reference}}, key);
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
  CHECK(o.create_order("s2", "k2", 0).error_code == "InvalidOrder");
  CHECK(o.create_order("", "k3").error_code == "MissingReference");
  CHECK(o.service.orders().size() == 1);
}

TEST_CASE("orders: reject makes the created order of a reference not_paid, once") {
  Orders o;
  auto id = o.create("s1/create_order/do", 2, 15, "s1");
  auto other = o.create("s2/create_order/do", 2, 15, "s2");
  CHECK(o.service.order_id_by_reference("s1") == id);
  auto first = o.reject("s1", "s1/create_order/undo");
  REQUIRE(first.outcome == ReplyOutcome::success);
  CHECK(body_of(first).at("order_id") == json::value(id));
  CHECK(body_of(first).at("status") == "not_paid");
  CHECK(body_of(first).at("done") == true);
  // Repeated with the same key: answered from the record. Under another key: nothing to undo.
  CHECK(o.reject("s1", "s1/create_order/undo").body == first.body);
  CHECK(body_of(o.reject("s1", "k9")).at("done") == false);
  CHECK(o.mark_paid(id, 30, "k3").error_code == "NotPayable");
  CHECK(o.service.order(other).status == Status::created);  // another reference
  REQUIRE(o.service.ledger().size() == 3);                  // two creates, one reject
  CHECK(o.service.ledger()[2].kind == "reject");
  CHECK(o.service.ledger()[2].command_id == "s1/create_order/undo");
  CHECK(o.service.ledger()[2].subject == id);
}

TEST_CASE("orders: rejecting a reference never ordered succeeds, changes nothing, and closes it") {
  Orders o;
  auto reject = o.reject("s1", "s1/create_order/undo");
  REQUIRE(reject.outcome == ReplyOutcome::success);
  CHECK(body_of(reject).at("done") == false);
  CHECK(body_of(reject).at("status") == "unknown");
  CHECK(o.service.ledger().empty());
  // The create held up in the broker arrives after its saga gave up: it makes no order.
  auto late = o.create_order("s1", "s1/create_order/do");
  CHECK(late.outcome == ReplyOutcome::business_failure);
  CHECK(late.error_code == "OrderRejected");
  CHECK(o.service.orders().empty());
  CHECK(o.service.ledger().empty());
}

TEST_CASE("orders: a paid order is not rejected") {
  Orders o;
  auto id = o.create("k1", 2, 15, "s1");
  o.mark_paid(id, 30, "k2");
  auto reject = o.reject("s1", "k3");
  CHECK(reject.outcome == ReplyOutcome::success);
  CHECK(body_of(reject).at("status") == "paid");
  CHECK(body_of(reject).at("done") == false);
  CHECK(o.service.order(id).status == Status::paid);
}

TEST_CASE("orders: one order per reference, whatever the idempotency key") {
  Orders o;
  auto id = o.create("k1", 2, 15, "s1");
  CHECK(o.create("k2", 2, 15, "s1") == id);
  CHECK(o.create_order("s1", "k3", 3).error_code == "ReferenceReused");
  CHECK(o.service.orders().size() == 1);
  CHECK(o.service.ledger().size() == 1);
  o.reject("s1", "k4");
  CHECK(o.create_order("s1", "k5").error_code == "OrderRejected");
  CHECK(o.service.orders().size() == 1);
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
