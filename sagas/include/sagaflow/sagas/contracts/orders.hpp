#pragma once
// The order service's commands and replies (seeds 001 and 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::orders {

// orders.create: an order in status created; its total is price * quantity. One order per
// `reference` (the saga id in order_payment), so that reject finds it even when create's reply
// was lost.
struct Create {
  std::string reference;
  std::string user_id;
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t price = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference), CEREAL_NVP(user_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity),
      CEREAL_NVP(price));
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

// orders.reject: the compensation of create; the order made under `reference`, if it is still
// created, becomes not_paid. Rejecting nothing (no order, or one no longer created) succeeds with
// done=false.
struct RejectByReference {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
// The reply of reject: the order made under the reference (order_id empty and status "unknown"
// when none was), its status, and whether this command rejected it.
struct Rejected {
  std::string order_id;
  std::string status;
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(status), CEREAL_NVP(done));
  }
};

// orders.begin_cancel, orders.abort_cancel, orders.mark_cancelled.
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
