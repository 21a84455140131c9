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
  worker::on<RejectByReference, Rejected>(
      dispatcher, "orders.reject",
      [this](const RejectByReference& r, const Message& m) { return reject(r, m); });
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
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  if (c.user_id.empty() || c.product_id.empty()) return Outcome::business_failure("InvalidOrder");
  if (c.quantity <= 0 || c.price < 0) return Outcome::business_failure("InvalidOrder");
  if (c.price > std::numeric_limits<std::int64_t>::max() / c.quantity) {
    return Outcome::business_failure("InvalidOrder");
  }
  std::lock_guard lock(mutex_);
  // Rejected before it arrived (its saga gave up on it): it must not leave an order waiting.
  if (rejected_unmade_.contains(c.reference)) return Outcome::business_failure("OrderRejected");
  // The same reference ordered again (a resend under another key) is the same order.
  if (auto known = references_.find(c.reference); known != references_.end()) {
    const auto& o = orders_.at(known->second);
    if (o.user != c.user_id || o.product != c.product_id || o.quantity != c.quantity ||
        o.price != c.price) {
      return Outcome::business_failure("ReferenceReused");
    }
    if (o.status == Status::not_paid) return Outcome::business_failure("OrderRejected");
    return orders::Created{known->second, o.total, to_string(o.status)};
  }
  auto id = "order-" + std::to_string(next_id_++);
  auto total = c.price * c.quantity;
  orders_[id] = Order{.reference = c.reference,
                      .user = c.user_id,
                      .product = c.product_id,
                      .quantity = c.quantity,
                      .price = c.price,
                      .total = total};
  references_[c.reference] = id;
  ledger_.push_back(Effect{m.idempotency_key, "create", id, total});
  return orders::Created{id, total, to_string(Status::created)};
}

// Rejecting when no order was made under the reference (create failed, was lost, or is still on
// its way) or when the order is no longer `created` changes nothing and succeeds with
// done=false: the compensation's goal, no order waiting for its payment, is reached. The first
// case also closes the reference, so that a create arriving later makes no order.
worker::Outcome<orders::Rejected> OrdersService::reject(const orders::RejectByReference& r,
                                                        const Message& m) {
  std::lock_guard lock(mutex_);
  auto known = references_.find(r.reference);
  if (known == references_.end()) {
    if (!r.reference.empty()) rejected_unmade_.insert(r.reference);
    return orders::Rejected{"", "unknown", false};
  }
  auto& o = orders_.at(known->second);
  if (o.status != Status::created) {
    return orders::Rejected{known->second, to_string(o.status), false};
  }
  o.status = Status::not_paid;
  ledger_.push_back(Effect{m.idempotency_key, "reject", known->second, 0});
  return orders::Rejected{known->second, to_string(o.status), true};
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

std::string OrdersService::order_id_by_reference(const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto known = references_.find(reference);
  return known == references_.end() ? std::string{} : known->second;
}

std::vector<Effect> OrdersService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

}  // namespace sagaflow::sagas
