#pragma once
// The special-offer service's commands and replies (seed 000), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::offers {

// offers.create_order: an order in status pending.
struct CreateOrder {
  std::string user_id;
  std::string offer_id;
  std::int64_t price = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(offer_id), CEREAL_NVP(price));
  }
};

// offers.cancel_order, offers.fulfil: act on one order.
struct OrderRef {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};

// Every offers reply: the order and its status (pending, bought, cancelled).
struct OrderState {
  std::string order_id;
  std::string status;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(status));
  }
};

}  // namespace sagaflow::sagas::offers
