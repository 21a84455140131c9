#pragma once
// GiftCertificateProcessing of seed 002: a catalogue of certificate codes, their sale and
// activation for an order (authorize, release, record_payment, activate) and their redemption
// (authorize_hold, release_hold, capture, void). Every applied effect is written to a ledger
// keyed by the command's idempotency key; Activate, Capture and Void are also kept as
// operations (the GiftCertificateTransaction log: a void started by payments or support, or by
// a saga's compensation, cannot publish its event from there, so the log is where it shows).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/certificates.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class CertificatesService {
 public:
  enum class State { available, reserved, active };
  struct Certificate {
    std::string code;
    State state = State::available;
    bool sold = false;
    std::string channel;   // while reserved
    std::string order_id;  // the order it was reserved for / sold by
    std::string order_line_id;
    std::int64_t denomination = 0;
    std::int64_t balance = 0;
    std::int64_t held = 0;  // the sum of its open holds
    std::string cvc;        // generated at activation; kept here, never in a reply
  };
  enum class AllocationStatus { reserved, activated };
  // An order_certificate_allocation.
  struct Allocation {
    std::string allocation_id;
    std::string order_id;
    std::string order_line_id;
    std::string code;
    std::int64_t planned_denomination = 0;
    std::int64_t collected_amount = 0;
    certificates::Recipient recipient;
    AllocationStatus status = AllocationStatus::reserved;
  };
  enum class HoldStatus { open, released, captured };
  struct Hold {
    std::string authorization_id;
    std::string reference;
    std::string code;
    std::int64_t amount = 0;
    HoldStatus status = HoldStatus::open;
    std::string capture_operation;  // when captured
    std::string void_operation;     // when the capture was voided
  };
  // A GiftCertificateTransaction: Activate, Capture or Void.
  struct Operation {
    std::string operation_id;
    std::string kind;
    std::string code;
    std::int64_t amount = 0;
    std::int64_t balance_after = 0;
    std::string authorization_id;     // Capture, Void
    std::string voided_operation_id;  // Void: the Capture it voids
    std::string command_id;
  };
  struct Effect {
    std::string command_id;
    // authorize, release, record_payment, activate, hold, release_hold, capture, void
    std::string kind;
    std::string code;
    std::string ref;  // order line, or authorization id
    std::int64_t amount = 0;
  };

  // Seeding: a code that can be sold (available).
  void add_code(const std::string& code);
  // Seeding: a certificate sold and active outside any saga, with its balance (for redemption).
  void issue(const std::string& code, std::int64_t balance);
  // Registers certificates.authorize, release, record_payment, activate, authorize_hold,
  // release_hold, capture and void.
  void register_handlers(worker::Dispatcher& dispatcher);

  Certificate certificate(const std::string& code) const;  // empty code when unknown
  // The CVC of an active certificate, read in-process by whoever must deliver it (the SMS
  // gateway's CvcSource); empty when the code is unknown or not active. The CVC never travels
  // in a reply, so it stays out of the orchestrator, its store and the bus.
  std::string cvc(const std::string& code) const;
  std::vector<Allocation> allocations(const std::string& order_id) const;
  // The last paymentVersion recorded for the order (0: none).
  std::int64_t payment_version(const std::string& order_id) const;
  Hold hold(const std::string& reference) const;  // empty authorization_id when none
  std::vector<Operation> operations() const;
  std::vector<Effect> ledger() const;

  // Invariants. No balance or hold below zero, and no more held than the balance.
  bool balances_never_negative() const;
  // Every Capture is voided at most once.
  bool each_capture_voided_at_most_once() const;
  // Every code is activated (sold) at most once.
  bool each_code_sold_at_most_once() const;
  // Every active certificate's balance == its denomination - captures + voids (its operations).
  bool balances_match_operations() const;
  // All four.
  bool invariants_hold() const;

 private:
  using Lock = std::lock_guard<std::mutex>;
  worker::Outcome<certificates::Authorized> authorize(const certificates::Authorize& a,
                                                      const Message& m);
  worker::Outcome<certificates::Undone> release(const certificates::LineRef& r, const Message& m);
  worker::Outcome<certificates::PaymentRecorded> record_payment(
      const certificates::RecordPayment& r, const Message& m);
  worker::Outcome<certificates::Activated> activate(const certificates::LineRef& r,
                                                    const Message& m);
  worker::Outcome<certificates::HoldAuthorized> authorize_hold(const certificates::AuthorizeHold& h,
                                                               const Message& m);
  worker::Outcome<certificates::Undone> release_hold(const certificates::HoldRef& r,
                                                     const Message& m);
  worker::Outcome<certificates::Captured> capture(const certificates::HoldRef& r, const Message& m);
  worker::Outcome<certificates::Voided> void_capture(const certificates::HoldRef& r,
                                                     const Message& m);
  std::string new_id(const char* prefix);
  std::string add_operation(const Message& m, Operation op);
  void record(const Message& m, std::string kind, const std::string& code, const std::string& ref,
              std::int64_t amount);
  std::int64_t collected_total(const std::string& order_id) const;

  mutable std::mutex mutex_;
  std::map<std::string, Certificate> certificates_;       // by code
  std::map<std::string, Allocation> allocations_;         // by order_id + "/" + order_line_id
  std::map<std::string, std::int64_t> payment_versions_;  // by order id
  std::map<std::string, Hold> holds_;                     // by reference
  std::vector<Operation> operations_;
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
