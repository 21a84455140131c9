#pragma once
// The special-offer service's commands and replies (seed 000), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::offers {

// offers.create_order: an order in status pending. One order per `reference` (the saga id in
// offer_purchase), so that cancel_order finds it even when create_order's reply was lost.
struct CreateOrder {
  std::string reference;
  std::string user_id;
  std::string offer_id;
  std::int64_t price = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference), CEREAL_NVP(user_id), CEREAL_NVP(offer_id), CEREAL_NVP(price));
  }
};

// offers.cancel_order: the compensation of create_order; cancels the pending order made under
// `reference`. Cancelling nothing (no order, or one no longer pending) succeeds with done=false.
struct CancelByReference {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
// The reply of cancel_order: the order made under the reference (order_id empty and status
// "unknown" when none was), its status, and whether this command cancelled it.
struct Cancelled {
  std::string order_id;
  std::string status;
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(status), CEREAL_NVP(done));
  }
};

// offers.fulfil: act on one order.
struct OrderRef {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};

// The reply of create_order and fulfil: the order and its status (pending, bought).
struct OrderState {
  std::string order_id;
  std::string status;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(status));
  }
};

}  // namespace sagaflow::sagas::offers
