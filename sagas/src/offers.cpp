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
  worker::on<OrderRef, OrderState>(
      dispatcher, "offers.cancel_order",
      [this](const OrderRef& r, const Message& m) { return cancel_order(r, m); });
  worker::on<OrderRef, OrderState>(
      dispatcher, "offers.fulfil",
      [this](const OrderRef& r, const Message& m) { return fulfil(r, m); });
}

worker::Outcome<offers::OrderState> OffersService::create_order(const offers::CreateOrder& c,
                                                                const Message& m) {
  using Outcome = worker::Outcome<offers::OrderState>;
  if (c.price <= 0) return Outcome::business_failure("InvalidPrice");
  std::lock_guard lock(mutex_);
  auto id = "ord-" + std::to_string(next_id_++);
  orders_[id] = Order{.user = c.user_id, .offer = c.offer_id, .price = c.price};
  ledger_.push_back(Effect{m.idempotency_key, "create", id});
  return offers::OrderState{id, to_string(OrderStatus::pending)};
}

// Cancelling an order that does not exist or is no longer pending changes nothing: the
// compensation's goal, no pending order, is reached.
worker::Outcome<offers::OrderState> OffersService::cancel_order(const offers::OrderRef& r,
                                                                const Message& m) {
  std::lock_guard lock(mutex_);
  auto order = orders_.find(r.order_id);
  if (order == orders_.end()) return offers::OrderState{r.order_id, "unknown"};
  if (order->second.status == OrderStatus::pending) {
    order->second.status = OrderStatus::cancelled;
    ledger_.push_back(Effect{m.idempotency_key, "cancel", r.order_id});
  }
  return offers::OrderState{r.order_id, to_string(order->second.status)};
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

std::vector<OffersService::Effect> OffersService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

}  // namespace sagaflow::sagas
