#pragma once
// The payment service of seed 003: payments.create opens a pending payment and answers with the
// gateway page the client is sent to; the gateway later calls the service's webhook, which
// publishes payment.succeeded or payment.failed through an EventSink. A webhook the service
// cannot process (malformed, unknown payment, amount mismatch, bad signature) is logged
// (rejected_webhooks) and the payment stays as it was; nothing is published.
//
// Payment states: pending -> succeeded | failed; failed -> succeeded (the client paid again);
// pending | failed -> cancelled (payments.cancel; later webhooks are ignored);
// succeeded -> refunded (payments.cancel of a paid payment gives the money back).
//
// A payment also records what certificate tenders cover of it (seed 002, certificate_redemption):
// payments.apply_certificate covers part of what remains to pay, payments.remove_certificate
// undoes it. open_payment sets up a payment that exists before the saga (an order's payment).
//
// Published event ids are stable: "payment.succeeded/<payment id>" and
// "payment.failed/<payment id>/<n>" (the n-th failure). A webhook delivered again republishes the
// same event under the same id, so that a lost publish is mended and a duplicate is recognised.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sagaflow/sagas/contracts/payments.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/sagas/event_sink.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class PaymentsService {
 public:
  enum class Status { pending, succeeded, failed, cancelled, refunded };
  struct Payment {
    std::string payment_id;
    std::string reference;  // the saga id
    std::string booking_id;
    std::int64_t amount = 0;
    Status status = Status::pending;
    std::int64_t failures = 0;  // payment.failed webhooks applied
    std::int64_t covered = 0;   // by certificate tenders applied and not removed; <= amount
  };
  enum class TenderStatus { applied, removed };
  struct Tender {
    std::string payment_id;
    std::string reference;  // the certificate's authorization id
    std::int64_t amount = 0;
    TenderStatus status = TenderStatus::applied;
  };
  // What handle_webhook did. `accepted` false: rejected, `error` says why, nothing published.
  struct WebhookResult {
    bool accepted = false;
    std::string error;       // MalformedWebhook, UnknownPayment, AmountMismatch, BadSignature,
                             // PaymentClosed (cancelled or refunded), AlreadySucceeded
    std::string payment_id;  // when it could be read
    std::string event_type;  // payment.succeeded or payment.failed, when accepted
    std::string event_id;
    bool duplicate = false;  // accepted, but the payment was already in that state
  };
  struct RejectedWebhook {
    std::string body;
    std::string error;
  };

  static const char* to_string(Status status);

  // `checkout_url`: the gateway page, the payment id is appended. `webhook_secret`: when not empty,
  // every webhook must carry `signature` == sign(secret, payment_id, status, amount).
  explicit PaymentsService(std::string checkout_url = "https://pay.example.test/checkout/",
                           std::string webhook_secret = {});

  // Where payment.succeeded / payment.failed go (tests: FlowWorld::publish_event; the daemon: its
  // bus). Without a sink the events are only kept in published().
  void set_event_sink(EventSink sink);
  // Registers payments.create, payments.cancel, payments.apply_certificate and
  // payments.remove_certificate.
  void register_handlers(worker::Dispatcher& dispatcher);

  // Set-up (tests, the demo): a pending payment of `amount` under `payment_id`, existing before
  // any saga (an order's payment a certificate is applied to). Recorded in the ledger as "open".
  // Throws std::invalid_argument for an id already used or an amount not above zero.
  void open_payment(const std::string& payment_id, std::int64_t amount);

  // The gateway's callback, e.g. POST /payments/webhook with
  //   {"payment_id": "pay-1", "status": "succeeded", "amount": 1500, "signature": "..."}
  // status is "succeeded" or "failed"; `signature` only when a secret is configured.
  WebhookResult handle_webhook(std::string_view body);

  // The signature the gateway puts in its webhooks (FNV-1a 64 of the fields and the secret, hex).
  static std::string sign(std::string_view secret, std::string_view payment_id,
                          std::string_view status, std::int64_t amount);
  // A webhook body as the gateway sends it (signed when `secret` is not empty).
  static std::string webhook_body(const std::string& payment_id, const std::string& status,
                                  std::int64_t amount, std::string_view secret = {});

  std::map<std::string, Payment> payments() const;       // by payment id
  Payment payment(const std::string& payment_id) const;  // payment_id empty when unknown
  // The payment made under `reference` (the saga id); payment_id empty when none was.
  Payment payment_by_reference(const std::string& reference) const;
  // The tender applied (or removed) under `reference` on that payment; payment_id empty when none.
  Tender tender(const std::string& payment_id, const std::string& reference) const;
  // create, open, cancel, refund, succeeded, failed, apply_certificate, remove_certificate
  std::vector<Effect> ledger() const;
  std::vector<RejectedWebhook> rejected_webhooks() const;
  std::vector<Message> published() const;  // every event handed to the sink, in order
  // Every payment was created once; each succeeded at most once; a cancelled one never
  // succeeded; a refunded one succeeded once and was refunded once; failures match the ledger;
  // 0 <= covered <= amount, and covered matches the applied and removed tenders of the ledger.
  bool invariant_holds() const;

 private:
  worker::Outcome<payments::Created> create(const payments::Create& c, const Message& m);
  worker::Outcome<payments::Undone> cancel(const payments::CancelByReference& c, const Message& m);
  worker::Outcome<payments::CertificateApplied> apply_certificate(
      const payments::ApplyCertificate& c, const Message& m);
  worker::Outcome<payments::CertificateRemoved> remove_certificate(
      const payments::RemoveCertificate& c, const Message& m);
  WebhookResult reject(std::string_view body, WebhookResult result);
  std::string redirect_url(const std::string& payment_id) const;

  const std::string checkout_url_;
  const std::string webhook_secret_;
  mutable std::mutex mutex_;
  EventSink sink_;
  std::map<std::string, Payment> payments_;        // by payment id
  std::map<std::string, std::string> references_;  // reference -> payment id
  // (payment id, tender reference) -> tender
  std::map<std::pair<std::string, std::string>, Tender> tenders_;
  std::vector<Effect> ledger_;
  std::vector<RejectedWebhook> rejected_;
  std::vector<Message> published_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
