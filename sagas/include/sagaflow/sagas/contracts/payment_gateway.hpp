#pragma once
// The payment gateway's commands and replies (seed 004, charge points), as they travel in JSON.
// A charge is identified by the caller's `reference` (the saga id in points_charge), so that a
// refund can find it even when the charge's reply never arrived.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::payment_gateway {

// payment_gateway.charge: take `amount` (minor units) from the payment method.
struct Charge {
  std::string user_id;
  std::int64_t amount = 0;
  std::string method;     // a registered payment method, e.g. "card-4242"
  std::string reference;  // the caller's id for this payment; one charge per reference
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(amount), CEREAL_NVP(method), CEREAL_NVP(reference));
  }
};
struct Charged {
  std::string payment_id;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(payment_id), CEREAL_NVP(amount));
  }
};

// payment_gateway.refund: give back the charge made under `reference`.
struct Refund {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
// done=false: nothing to refund (no such charge, or already refunded).
struct Refunded {
  bool done = false;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(amount));
  }
};

}  // namespace sagaflow::sagas::payment_gateway
