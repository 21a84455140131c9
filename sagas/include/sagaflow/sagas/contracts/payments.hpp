#pragma once
// The payment service's commands and replies (seed 003), as they travel in JSON. The gateway's
// webhook is not a command: PaymentsService::handle_webhook reads it.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::payments {

// payments.create: a pending payment the client pays on the gateway's page (redirect_url). One
// payment per `reference` (the saga id in booking_payment), so that payments.cancel finds it even
// when create's reply was lost.
struct Create {
  std::string reference;
  std::string booking_id;
  std::int64_t amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference), CEREAL_NVP(booking_id), CEREAL_NVP(amount));
  }
};
struct Created {
  std::string payment_id;
  std::string redirect_url;
  std::int64_t amount = 0;
  std::string status;  // pending
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(payment_id), CEREAL_NVP(redirect_url), CEREAL_NVP(amount), CEREAL_NVP(status));
  }
};

// payments.cancel: the compensation of create. A pending or failed payment is cancelled (later
// webhooks are ignored); a succeeded one is refunded. Cancelling nothing succeeds, done=false.
struct CancelByReference {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
struct Undone {
  bool done = false;
  std::string status;  // the payment's status afterwards (cancelled, refunded), or "" for none
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(status));
  }
};

}  // namespace sagaflow::sagas::payments
