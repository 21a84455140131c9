#pragma once
// The inventory service of seed 004: stock per product, and the units each order holds.
// Invariant, per product: stock + reserved == initial, where `reserved` counts the units held by
// orders (sold or about to be) and `initial` the units ever put in stock.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/inventory.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class InventoryService {
 public:
  struct Product {
    std::int64_t initial = 0;  // every unit ever stocked
    std::int64_t stock = 0;    // available
    std::int64_t reserved = 0;
  };
  struct Reservation {
    std::string product;
    std::int64_t quantity = 0;
    bool active = true;  // false once restored
  };

  // Puts `quantity` more units of the product in stock (tests, the demo).
  void add_stock(const std::string& product, std::int64_t quantity);
  // Registers inventory.reserve and inventory.restore.
  void register_handlers(worker::Dispatcher& dispatcher);

  Product product(const std::string& product) const;
  std::map<std::string, Product> products() const;
  std::map<std::string, Reservation> reservations() const;  // by order id
  std::vector<Effect> ledger() const;
  // stock + reserved == initial for every product, and reserved is what the active
  // reservations hold.
  bool balanced() const;

 private:
  worker::Outcome<inventory::Reserved> reserve(const inventory::Reserve& r, const Message& m);
  worker::Outcome<inventory::Restored> restore(const inventory::Restore& r, const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Product> products_;
  std::map<std::string, Reservation> reservations_;
  std::vector<Effect> ledger_;
};

}  // namespace sagaflow::sagas
