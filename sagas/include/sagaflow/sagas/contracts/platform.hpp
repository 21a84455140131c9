#pragma once
// The external data platform's commands and replies (seed 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::platform {

// platform.send_order: the paid order's data.
struct SendOrder {
  std::string order_id;
  std::string user_id;
  std::string product_id;
  std::int64_t quantity = 0;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(user_id), CEREAL_NVP(product_id), CEREAL_NVP(quantity),
      CEREAL_NVP(amount));
  }
};
// platform.send_cancel: the order was cancelled.
struct SendCancel {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};
struct Ack {
  std::string receipt_id;
  bool duplicate = false;  // the platform already had this record (sent by an earlier command)
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(receipt_id), CEREAL_NVP(duplicate));
  }
};

}  // namespace sagaflow::sagas::platform
