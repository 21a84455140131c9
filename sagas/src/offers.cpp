#include "sagaflow/sagas/offers.hpp"

namespace sagaflow::sagas {

namespace {

const char* to_string(OffersService::OrderStatus status) {
  switch (status) {
    case OffersService::OrderStatus::pending:
      return "pending";
    case OffersService::OrderStatus::bought:
      return "bought";
    case OffersService::OrderStatus::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace

void OffersService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace offers;
  worker::on<CreateOrder, OrderState>(
      dispatcher, "offers.create_order",
      [this](const CreateOrder& c, const Message& m) { return create_order(c, m); });
  worker::on<CancelByReference, Cancelled>(
      dispatcher, "offers.cancel_order",
      [this](const CancelByReference& c, const Message& m) { return cancel_order(c, m); });
  worker::on<OrderRef, OrderState>(
      dispatcher, "offers.fulfil",
      [this](const OrderRef& r, const Message& m) { return fulfil(r, m); });
}

worker::Outcome<offers::OrderState> OffersService::create_order(const offers::CreateOrder& c,
                                                                const Message& m) {
  using Outcome = worker::Outcome<offers::OrderState>;
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  if (c.price <= 0) return Outcome::business_failure("InvalidPrice");
  std::lock_guard lock(mutex_);
  // Cancelled before it arrived (its saga gave up on it): it must not leave a pending order.
  if (cancelled_unmade_.contains(c.reference)) return Outcome::business_failure("OrderCancelled");
  // The same reference ordered again (a resend under another key) is the same order.
  if (auto known = references_.find(c.reference); known != references_.end()) {
    const auto& order = orders_.at(known->second);
    if (order.user != c.user_id || order.offer != c.offer_id || order.price != c.price) {
      return Outcome::business_failure("ReferenceReused");
    }
    if (order.status == OrderStatus::cancelled) return Outcome::business_failure("OrderCancelled");
    return offers::OrderState{known->second, to_string(order.status)};
  }
  auto id = "ord-" + std::to_string(next_id_++);
  orders_[id] =
      Order{.reference = c.reference, .user = c.user_id, .offer = c.offer_id, .price = c.price};
  references_[c.reference] = id;
  ledger_.push_back(Effect{m.idempotency_key, "create", id});
  return offers::OrderState{id, to_string(OrderStatus::pending)};
}

// Cancelling when no order was made under the reference (create_order failed, was lost, or is
// still on its way) or when the order is no longer pending changes nothing and succeeds with
// done=false: the compensation's goal, no pending order, is reached. The first case also closes
// the reference, so that a create_order arriving later makes no order.
worker::Outcome<offers::Cancelled> OffersService::cancel_order(const offers::CancelByReference& c,
                                                               const Message& m) {
  std::lock_guard lock(mutex_);
  auto known = references_.find(c.reference);
  if (known == references_.end()) {
    if (!c.reference.empty()) cancelled_unmade_.insert(c.reference);
    return offers::Cancelled{"", "unknown", false};
  }
  auto& order = orders_.at(known->second);
  if (order.status != OrderStatus::pending) {
    return offers::Cancelled{known->second, to_string(order.status), false};
  }
  order.status = OrderStatus::cancelled;
  ledger_.push_back(Effect{m.idempotency_key, "cancel", known->second});
  return offers::Cancelled{known->second, to_string(order.status), true};
}

worker::Outcome<offers::OrderState> OffersService::fulfil(const offers::OrderRef& r,
                                                          const Message& m) {
  using Outcome = worker::Outcome<offers::OrderState>;
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return Outcome::business_failure("UnknownOrder");
  if (sold_out_[order->second.offer]) return Outcome::business_failure("OfferSoldOut");
  if (order->second.status != OrderStatus::pending) {
    return Outcome::business_failure("OrderNotPending");
  }
  order->second.status = OrderStatus::bought;
  ledger_.push_back(Effect{m.idempotency_key, "fulfil", r.order_id});
  return offers::OrderState{r.order_id, to_string(OrderStatus::bought)};
}

void OffersService::sell_out(const std::string& offer) {
  std::lock_guard lock(mutex_);
  sold_out_[offer] = true;
}

std::map<std::string, OffersService::Order> OffersService::orders() const {
  std::lock_guard lock(mutex_);
  return orders_;
}

std::string OffersService::order_id_by_reference(const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto known = references_.find(reference);
  return known == references_.end() ? std::string{} : known->second;
}

std::vector<OffersService::Effect> OffersService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

}  // namespace sagaflow::sagas
