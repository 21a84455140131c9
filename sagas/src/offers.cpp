#include "sagaflow/sagas/offers.hpp"

#include "payload.hpp"

namespace sagaflow::sagas {

void OffersService::register_handlers(worker::Dispatcher& dispatcher) {
  dispatcher.on("offers.create_order", [this](const worker::Command& c) {
    std::lock_guard lock(mutex_);
    auto id = "ord-" + std::to_string(next_id_++);
    orders_[id] = Order{.user = text_field(c.payload, "user_id"),
                        .offer = text_field(c.payload, "offer_id"),
                        .price = number_field(c.payload, "price")};
    return worker::Result::ok(json::object{{"order_id", id}, {"status", "pending"}});
  });
  dispatcher.on("offers.cancel_order", [this](const worker::Command& c) {
    std::lock_guard lock(mutex_);
    auto order = orders_.find(text_field(c.payload, "order_id"));
    if (order != orders_.end() && order->second.status == OrderStatus::pending) {
      order->second.status = OrderStatus::cancelled;
    }
    return worker::Result::ok(json::object{{"status", "cancelled"}});
  });
  dispatcher.on("offers.fulfil", [this](const worker::Command& c) {
    std::lock_guard lock(mutex_);
    auto order = orders_.find(text_field(c.payload, "order_id"));
    if (order == orders_.end()) return worker::Result::business_failure("UnknownOrder");
    if (sold_out_[order->second.offer]) return worker::Result::business_failure("OfferSoldOut");
    if (order->second.status != OrderStatus::pending) {
      return worker::Result::business_failure("OrderNotPending");
    }
    order->second.status = OrderStatus::bought;
    return worker::Result::ok(json::object{{"status", "bought"}});
  });
}

void OffersService::sell_out(const std::string& offer) {
  std::lock_guard lock(mutex_);
  sold_out_[offer] = true;
}

std::map<std::string, OffersService::Order> OffersService::orders() const {
  std::lock_guard lock(mutex_);
  return orders_;
}

}  // namespace sagaflow::sagas
