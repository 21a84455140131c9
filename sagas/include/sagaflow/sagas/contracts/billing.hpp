#pragma once
// The billing (balance) service's commands and replies (seeds 001 and 004), as they travel in
// JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::billing {

// billing.create_account (user_registration) and billing.delete_account (its compensation).
struct AccountRef {
  std::string user_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id));
  }
};
struct AccountCreated {
  std::string user_id;
  std::int64_t balance = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(balance));
  }
};

// billing.charge: take `total - discount` from the user's balance for an order. `discount` may
// be null in the JSON (no coupon was applied): it then counts as 0.
struct Charge {
  std::string user_id;
  std::string order_id;
  std::int64_t total = 0;
  std::int64_t discount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(order_id), CEREAL_NVP(total), CEREAL_NVP(discount));
  }
};
struct Charged {
  std::string charge_id;
  std::int64_t amount = 0;   // what was taken: total - discount
  std::int64_t balance = 0;  // what is left
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(charge_id), CEREAL_NVP(amount), CEREAL_NVP(balance));
  }
};

// billing.refund: give back the order's charge (compensation of charge; order_cancellation).
struct Refund {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};
struct Refunded {
  bool done = false;  // false: nothing charged for the order, or already refunded
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(amount));
  }
};

struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

}  // namespace sagaflow::sagas::billing
