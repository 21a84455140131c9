#pragma once
// GiftCertificateProcessing's commands and replies (seed 002), as they travel in JSON. Fields
// that come straight from the All_SalesOrder / All_Payments events keep those events' names.
#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>

namespace sagaflow::sagas::certificates {

// Who a certificate is for (All_SalesOrder's intendedRecipient).
struct Recipient {
  std::string name;
  std::string phone;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(name), CEREAL_NVP(phone));
  }
};

// certificates.authorize (activation, step 1): reserve a never-sold code for an order line and
// create its order_certificate_allocation.
struct Authorize {
  std::string order_id;
  std::string order_line_id;
  std::string code;
  std::int64_t denomination = 0;  // the planned denomination, minor units
  Recipient recipient;
  std::string channel;  // the sales channel the code is reserved for
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(order_line_id), CEREAL_NVP(code), CEREAL_NVP(denomination),
      CEREAL_NVP(recipient), CEREAL_NVP(channel));
  }
};
struct Authorized {
  std::string allocation_id;
  std::string code;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(allocation_id), CEREAL_NVP(code));
  }
};

// certificates.release (compensation of authorize) and certificates.activate: one order line.
struct LineRef {
  std::string order_id;
  std::string order_line_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(order_line_id));
  }
};
// The reply of release and release_hold: whether anything was undone.
struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

// One element of All_Payments' certificateAllocations.
struct AllocationPayment {
  std::string order_line_id;
  std::int64_t collected_amount = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(cereal::make_nvp("orderLineId", order_line_id),
      cereal::make_nvp("collectedAmount", collected_amount));
  }
};
// certificates.record_payment: what one All_Payments event says about the order.
struct RecordPayment {
  std::string order_id;
  std::int64_t payment_version = 0;
  std::int64_t captured_amount = 0;
  std::int64_t outstanding_amount = 0;
  bool is_order_settled = false;
  std::vector<AllocationPayment> allocations;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(payment_version), CEREAL_NVP(captured_amount),
      CEREAL_NVP(outstanding_amount), CEREAL_NVP(is_order_settled), CEREAL_NVP(allocations));
  }
};
// applied=false: the version was not newer than the last recorded one; nothing changed.
struct PaymentRecorded {
  bool applied = false;
  std::int64_t payment_version = 0;  // the order's last recorded version
  std::int64_t collected_total = 0;  // sum of the order's allocations' collected_amount
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(applied), CEREAL_NVP(payment_version), CEREAL_NVP(collected_total));
  }
};

// certificates.activate's reply: what GiftCertificateState / GiftCertificateTransaction(Activate)
// carry, plus where the SMS goes. Never the CVC: it is a secret, and a reply lands in the saga's
// state, its history and what it publishes. The SMS gateway reads it from this service at send
// time (a claim check: CertificatesService::cvc(code)).
struct Activated {
  std::string order_line_id;
  std::string code;
  std::int64_t denomination = 0;
  std::int64_t balance = 0;
  std::string state;  // active
  std::string operation_id;
  std::string phone;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_line_id), CEREAL_NVP(code), CEREAL_NVP(denomination), CEREAL_NVP(balance),
      CEREAL_NVP(state), CEREAL_NVP(operation_id), CEREAL_NVP(phone));
  }
};

// certificates.authorize_hold (redemption, step 1): hold `amount` of an active certificate's
// balance. `reference` names the redemption (the payment it pays for); one hold per reference,
// so that release_hold, capture and void find it even when a reply was lost.
struct AuthorizeHold {
  std::string code;
  std::int64_t amount = 0;
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(code), CEREAL_NVP(amount), CEREAL_NVP(reference));
  }
};
struct HoldAuthorized {
  std::string authorization_id;
  std::string code;
  std::int64_t amount = 0;
  std::int64_t available_balance = 0;  // balance minus every open hold, this one included
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(authorization_id), CEREAL_NVP(code), CEREAL_NVP(amount),
      CEREAL_NVP(available_balance));
  }
};

// certificates.release_hold, certificates.capture, certificates.void: the hold of a reference.
struct HoldRef {
  std::string reference;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(reference));
  }
};
struct Captured {
  std::string authorization_id;
  std::string operation_id;
  std::string code;
  std::int64_t amount = 0;
  std::int64_t balance = 0;  // after the capture
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(authorization_id), CEREAL_NVP(operation_id), CEREAL_NVP(code), CEREAL_NVP(amount),
      CEREAL_NVP(balance));
  }
};
// done=false: nothing to void (no capture, or voided already); the other fields are then empty.
struct Voided {
  bool done = false;
  std::string operation_id;         // the Void operation
  std::string voided_operation_id;  // the Capture it voids
  std::string code;
  std::int64_t amount = 0;
  std::int64_t balance = 0;  // after the void
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done), CEREAL_NVP(operation_id), CEREAL_NVP(voided_operation_id), CEREAL_NVP(code),
      CEREAL_NVP(amount), CEREAL_NVP(balance));
  }
};

}  // namespace sagaflow::sagas::certificates
