#pragma once
// The payment service's commands and replies (seeds 002 and 003), as they travel in JSON. The
// gateway's webhook is not a command: PaymentsService::handle_webhook reads it.
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

// payments.apply_certificate: a gift certificate already captured for the order is applied as a
// tender to the order's payment, covering `amount` of it. `reference` names the tender (the
// certificate's authorization id): the same reference applied again, under any key, is the same
// tender; payments.remove_certificate finds it by it even when this reply was lost.
// Business failures: UnknownPayment, PaymentClosed (cancelled or refunded), InvalidAmount,
// MissingReference, AmountExceedsOutstanding (more than what remains to pay), ReferenceReused
// (the reference applied with another amount), TenderRemoved (the reference was removed).
struct ApplyCertificate {
  std::string payment_id;
  std::int64_t amount = 0;
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(payment_id), CEREAL_NVP(amount), CEREAL_NVP(reference));
  }
};
struct CertificateApplied {
  std::string payment_id;
  std::string reference;
  std::int64_t amount = 0;       // applied by this tender
  std::int64_t covered = 0;      // of the payment's amount, by every tender, afterwards
  std::int64_t outstanding = 0;  // what remains to pay afterwards
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(payment_id), CEREAL_NVP(reference), CEREAL_NVP(amount), CEREAL_NVP(covered),
      CEREAL_NVP(outstanding));
  }
};

// payments.remove_certificate: the compensation of apply_certificate, by payment and reference.
// Removing nothing (never applied, already removed, unknown payment) succeeds with done=false;
// a reference removed before it was applied can no longer be applied (TenderRemoved).
struct RemoveCertificate {
  std::string payment_id;
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(payment_id), CEREAL_NVP(reference));
  }
};
struct CertificateRemoved {
  bool done = false;
  std::int64_t amount = 0;       // given back to what remains to pay, 0 when nothing was
  std::int64_t outstanding = 0;  // what remains to pay afterwards (0 for an unknown payment)
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(amount), CEREAL_NVP(outstanding));
  }
};

}  // namespace sagaflow::sagas::payments
