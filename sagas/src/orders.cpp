#include "sagaflow/sagas/orders.hpp"

#include <limits>

namespace sagaflow::sagas {

const char* OrdersService::to_string(Status status) {
  switch (status) {
    case Status::created:
      return "created";
    case Status::not_paid:
      return "not_paid";
    case Status::paid:
      return "paid";
    case Status::cancelling:
      return "cancelling";
    case Status::cancelled:
      return "cancelled";
  }
  return "unknown";
}

void OrdersService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace orders;
  worker::on<Create, Created>(dispatcher, "orders.create",
                              [this](const Create& c, const Message& m) { return create(c, m); });
  worker::on<OrderRef, OrderState>(
      dispatcher, "orders.reject",
      [this](const OrderRef& r, const Message& m) { return reject(r, m); });
  worker::on<MarkPaid, OrderState>(
      dispatcher, "orders.mark_paid",
      [this](const MarkPaid& p, const Message& m) { return mark_paid(p, m); });
  worker::on<OrderRef, Cancelling>(
      dispatcher, "orders.begin_cancel",
      [this](const OrderRef& r, const Message& m) { return begin_cancel(r, m); });
  worker::on<OrderRef, OrderState>(
      dispatcher, "orders.abort_cancel",
      [this](const OrderRef& r, const Message& m) { return abort_cancel(r, m); });
  worker::on<OrderRef, OrderState>(
      dispatcher, "orders.mark_cancelled",
      [this](const OrderRef& r, const Message& m) { return mark_cancelled(r, m); });
}

worker::Outcome<orders::Created> OrdersService::create(const orders::Create& c, const Message& m) {
  using Outcome = worker::Outcome<orders::Created>;
  if (c.user_id.empty() || c.product_id.empty()) return Outcome::business_failure("InvalidOrder");
  if (c.quantity <= 0 || c.price < 0) return Outcome::business_failure("InvalidOrder");
  if (c.price > std::numeric_limits<std::int64_t>::max() / c.quantity) {
    return Outcome::business_failure("InvalidOrder");
  }
  std::lock_guard lock(mutex_);
  auto id = "order-" + std::to_string(next_id_++);
  auto total = c.price * c.quantity;
  orders_[id] = Order{.user = c.user_id,
                      .product = c.product_id,
                      .quantity = c.quantity,
                      .price = c.price,
                      .total = total};
  ledger_.push_back(Effect{m.idempotency_key, "create", id, total});
  return orders::Created{id, total, to_string(Status::created)};
}

// Rejecting an order that is unknown or no longer `created` changes nothing: the compensation's
// goal, no order waiting for its payment, is reached.
worker::Outcome<orders::OrderState> OrdersService::reject(const orders::OrderRef& r,
                                                          const Message& m) {
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return orders::OrderState{r.order_id, "unknown"};
  if (order->second.status == Status::created) {
    order->second.status = Status::not_paid;
    ledger_.push_back(Effect{m.idempotency_key, "reject", r.order_id, 0});
  }
  return orders::OrderState{r.order_id, to_string(order->second.status)};
}

worker::Outcome<orders::OrderState> OrdersService::mark_paid(const orders::MarkPaid& p,
                                                             const Message& m) {
  using Outcome = worker::Outcome<orders::OrderState>;
  std::lock_guard lock(mutex_);
  auto order = orders_.find(p.order_id);
  if (order == orders_.end()) return Outcome::business_failure("UnknownOrder");
  if (order->second.status != Status::created) return Outcome::business_failure("NotPayable");
  if (p.amount < 0 || p.amount > order->second.total) {
    return Outcome::business_failure("InvalidAmount");
  }
  order->second.status = Status::paid;
  order->second.paid = p.amount;
  ledger_.push_back(Effect{m.idempotency_key, "mark_paid", p.order_id, p.amount});
  return orders::OrderState{p.order_id, to_string(Status::paid)};
}

// Only a paid order can be cancelled: one not paid (yet, or ever) answers NotPaid, one being
// cancelled or cancelled already NotCancellable.
worker::Outcome<orders::Cancelling> OrdersService::begin_cancel(const orders::OrderRef& r,
                                                                const Message& m) {
  using Outcome = worker::Outcome<orders::Cancelling>;
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return Outcome::business_failure("UnknownOrder");
  auto& o = order->second;
  if (o.status == Status::created || o.status == Status::not_paid) {
    return Outcome::business_failure("NotPaid");
  }
  if (o.status != Status::paid) return Outcome::business_failure("NotCancellable");
  o.status = Status::cancelling;
  ledger_.push_back(Effect{m.idempotency_key, "begin_cancel", r.order_id, o.paid});
  return orders::Cancelling{r.order_id, o.user, o.product, o.quantity, o.paid, to_string(o.status)};
}

// The compensation of begin_cancel: the order is paid again. Nothing to undo unless it is
// cancelling.
worker::Outcome<orders::OrderState> OrdersService::abort_cancel(const orders::OrderRef& r,
                                                                const Message& m) {
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return orders::OrderState{r.order_id, "unknown"};
  if (order->second.status == Status::cancelling) {
    order->second.status = Status::paid;
    ledger_.push_back(Effect{m.idempotency_key, "abort_cancel", r.order_id, 0});
  }
  return orders::OrderState{r.order_id, to_string(order->second.status)};
}

worker::Outcome<orders::OrderState> OrdersService::mark_cancelled(const orders::OrderRef& r,
                                                                  const Message& m) {
  using Outcome = worker::Outcome<orders::OrderState>;
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return Outcome::business_failure("UnknownOrder");
  if (order->second.status != Status::cancelling) {
    return Outcome::business_failure("NotCancelling");
  }
  order->second.status = Status::cancelled;
  ledger_.push_back(Effect{m.idempotency_key, "mark_cancelled", r.order_id, 0});
  return orders::OrderState{r.order_id, to_string(Status::cancelled)};
}

std::map<std::string, OrdersService::Order> OrdersService::orders() const {
  std::lock_guard lock(mutex_);
  return orders_;
}

OrdersService::Order OrdersService::order(const std::string& order_id) const {
  std::lock_guard lock(mutex_);
  auto order = orders_.find(order_id);
  return order == orders_.end() ? Order{} : order->second;
}

std::vector<Effect> OrdersService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

}  // namespace sagaflow::sagas
