#pragma once
// The points service's commands and replies (seed 000), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::points {

// points.reserve: hold `amount` of the user's balance for an order. One hold per `order_id` (the
// order's reference), so that release finds it even when reserve's reply was lost.
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

// points.debit, points.refund: act on one reservation.
struct ReservationRef {
  std::string reservation_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reservation_id));
  }
};
// points.release: the compensation of reserve; releases the hold made for `order_id`
// (reply: Undone).
struct ReleaseByOrder {
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id));
  }
};
// The reply of release, refund and revoke: whether anything was undone (false: nothing to undo).
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

// points.add: credit purchased points (seed 004, charge points). One credit per `reference`
// (the saga id in points_charge), so that revoke finds it even when add's reply was lost.
struct Add {
  std::string user_id;
  std::int64_t amount = 0;
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(amount), CEREAL_NVP(reference));
  }
};
struct Added {
  std::string credit_id;
  std::int64_t balance = 0;  // the user's balance after the credit
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(credit_id), CEREAL_NVP(balance));
  }
};
// points.revoke: the compensation of add; takes back the credit made under `reference`
// (reply: Undone).
struct CreditRef {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};

}  // namespace sagaflow::sagas::points
