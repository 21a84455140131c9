#include "sagaflow/sagas/inventory.hpp"

namespace sagaflow::sagas {

void InventoryService::add_stock(const std::string& product, std::int64_t quantity) {
  std::lock_guard lock(mutex_);
  auto& p = products_[product];
  p.initial += quantity;
  p.stock += quantity;
}

void InventoryService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace inventory;
  worker::on<Reserve, Reserved>(
      dispatcher, "inventory.reserve",
      [this](const Reserve& r, const Message& m) { return reserve(r, m); });
  worker::on<Restore, Restored>(
      dispatcher, "inventory.restore",
      [this](const Restore& r, const Message& m) { return restore(r, m); });
}

// An order holds at most one reservation; one whose units were restored (a cancellation) may
// take them again (the cancellation compensated).
worker::Outcome<inventory::Reserved> InventoryService::reserve(const inventory::Reserve& r,
                                                               const Message& m) {
  using Outcome = worker::Outcome<inventory::Reserved>;
  if (r.order_id.empty() || r.quantity <= 0) return Outcome::business_failure("InvalidQuantity");
  std::lock_guard lock(mutex_);
  auto product = products_.find(r.product_id);
  if (product == products_.end()) return Outcome::business_failure("UnknownProduct");
  auto held = reservations_.find(r.order_id);
  if (held != reservations_.end() && held->second.active) {
    return Outcome::business_failure("AlreadyReserved");
  }
  if (product->second.stock < r.quantity) return Outcome::business_failure("OutOfStock");
  product->second.stock -= r.quantity;
  product->second.reserved += r.quantity;
  reservations_[r.order_id] = Reservation{r.product_id, r.quantity};
  ledger_.push_back(Effect{m.idempotency_key, "reserve", r.order_id, r.quantity});
  return inventory::Reserved{r.order_id, r.product_id, r.quantity, product->second.stock};
}

// Restoring an order that holds nothing (its reserve failed or never arrived, or it was restored
// already) succeeds with done=false and changes no stock.
worker::Outcome<inventory::Restored> InventoryService::restore(const inventory::Restore& r,
                                                               const Message& m) {
  std::lock_guard lock(mutex_);
  auto held = reservations_.find(r.order_id);
  if (held == reservations_.end() || !held->second.active) return inventory::Restored{false, {}, 0};
  auto& product = products_[held->second.product];
  product.stock += held->second.quantity;
  product.reserved -= held->second.quantity;
  held->second.active = false;
  ledger_.push_back(Effect{m.idempotency_key, "restore", r.order_id, held->second.quantity});
  return inventory::Restored{true, held->second.product, held->second.quantity};
}

InventoryService::Product InventoryService::product(const std::string& product) const {
  std::lock_guard lock(mutex_);
  auto p = products_.find(product);
  return p == products_.end() ? Product{} : p->second;
}

std::map<std::string, InventoryService::Product> InventoryService::products() const {
  std::lock_guard lock(mutex_);
  return products_;
}

std::map<std::string, InventoryService::Reservation> InventoryService::reservations() const {
  std::lock_guard lock(mutex_);
  return reservations_;
}

std::vector<Effect> InventoryService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool InventoryService::balanced() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> held;
  for (const auto& [order, r] : reservations_) {
    if (r.active) held[r.product] += r.quantity;
  }
  for (const auto& [name, p] : products_) {
    if (p.stock < 0 || p.stock + p.reserved != p.initial || held[name] != p.reserved) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
