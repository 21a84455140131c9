#pragma once
// The points service's commands and replies (seed 000), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::points {

// points.reserve: hold `amount` of the user's balance for an order.
struct Reserve {
  std::string user_id;
  std::int64_t amount = 0;
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(amount), CEREAL_NVP(order_id));
  }
};
struct Reserved {
  std::string reservation_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reservation_id));
  }
};

// points.release, points.debit, points.refund: act on one reservation.
struct ReservationRef {
  std::string reservation_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reservation_id));
  }
};
// The reply of release and refund: whether anything was undone (false: nothing to undo).
struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};
struct Debited {
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(amount));
  }
};

}  // namespace sagaflow::sagas::points
