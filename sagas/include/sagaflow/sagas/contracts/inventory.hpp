#pragma once
// The inventory service's commands and replies (seed 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::inventory {

// inventory.reserve: check the stock and take `quantity` units of the product for an order.
struct Reserve {
  std::string order_id;
  std::string product_id;
  std::int64_t quantity = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity));
  }
};
struct Reserved {
  std::string order_id;
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t stock = 0;  // what is left
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity), CEREAL_NVP(stock));
  }
};

// inventory.restore: put the order's units back in stock (compensation of reserve; a step of
// order_cancellation).
struct Restore {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};
struct Restored {
  bool done = false;  // false: nothing was reserved for the order
  std::string product_id;
  std::int64_t quantity = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(product_id), CEREAL_NVP(quantity));
  }
};

}  // namespace sagaflow::sagas::inventory
