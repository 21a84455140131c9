#pragma once
// The order service's commands and replies (seeds 001 and 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::orders {

// orders.create: an order in status created; its total is price * quantity.
struct Create {
  std::string user_id;
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t price = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity), CEREAL_NVP(price));
  }
};
struct Created {
  std::string order_id;
  std::int64_t total = 0;
  std::string status;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(total), CEREAL_NVP(status));
  }
};

// orders.reject, orders.begin_cancel, orders.abort_cancel, orders.mark_cancelled.
struct OrderRef {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};
// orders.mark_paid: the order is paid `amount` (what billing charged).
struct MarkPaid {
  std::string order_id;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(amount));
  }
};
// Most replies: the order and its status (created, not_paid, paid, cancelling, cancelled).
struct OrderState {
  std::string order_id;
  std::string status;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(status));
  }
};
// The reply of begin_cancel: what the cancellation has to give back.
struct Cancelling {
  std::string order_id;
  std::string user_id;
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t amount = 0;  // what was paid
  std::string status;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(user_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity),
      CEREAL_NVP(amount), CEREAL_NVP(status));
  }
};

}  // namespace sagaflow::sagas::orders
