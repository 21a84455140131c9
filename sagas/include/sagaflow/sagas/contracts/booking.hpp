#pragma once
// The booking service's commands and replies (seed 003), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::booking {

// booking.create: hold one place of `slot_id` for a customer, status pending_payment. One booking
// per `reference` (the saga id in booking_payment), so that booking.cancel finds it even when
// create's reply was lost.
struct Create {
  std::string reference;
  std::string customer_id;
  std::string slot_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference), CEREAL_NVP(customer_id), CEREAL_NVP(slot_id));
  }
};
struct Created {
  std::string booking_id;
  std::string slot_id;
  std::string status;  // pending_payment
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(booking_id), CEREAL_NVP(slot_id), CEREAL_NVP(status));
  }
};

// booking.cancel: the compensation of create; frees the slot of the booking made under
// `reference`. Cancelling nothing (or a cancelled booking) succeeds with done=false.
struct CancelByReference {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

// booking.confirm: pending_payment -> confirmed (a confirmed booking is confirmed again as is).
struct Confirm {
  std::string booking_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(booking_id));
  }
};
struct Confirmed {
  std::string booking_id;
  std::string status;  // confirmed
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(booking_id), CEREAL_NVP(status));
  }
};

}  // namespace sagaflow::sagas::booking
