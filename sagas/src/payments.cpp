#include "sagaflow/sagas/payments.hpp"

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace sagaflow::sagas {

namespace {

constexpr std::size_t kMaxRejectedKept = 1000;

std::string string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool int_field(const json::object& o, std::string_view key, std::int64_t& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return false;
  if (v->is_int64()) {
    out = v->as_int64();
    return true;
  }
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    out = static_cast<std::int64_t>(v->as_uint64());
    return true;
  }
  return false;
}

}  // namespace

const char* PaymentsService::to_string(Status status) {
  switch (status) {
    case Status::pending:
      return "pending";
    case Status::succeeded:
      return "succeeded";
    case Status::failed:
      return "failed";
    case Status::cancelled:
      return "cancelled";
    case Status::refunded:
      return "refunded";
  }
  return "unknown";
}

PaymentsService::PaymentsService(std::string checkout_url, std::string webhook_secret)
    : checkout_url_(std::move(checkout_url)), webhook_secret_(std::move(webhook_secret)) {}

void PaymentsService::set_event_sink(EventSink sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
}

void PaymentsService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace payments;
  worker::on<Create, Created>(dispatcher, "payments.create",
                              [this](const Create& c, const Message& m) { return create(c, m); });
  worker::on<CancelByReference, Undone>(
      dispatcher, "payments.cancel",
      [this](const CancelByReference& c, const Message& m) { return cancel(c, m); });
  worker::on<ApplyCertificate, CertificateApplied>(
      dispatcher, "payments.apply_certificate",
      [this](const ApplyCertificate& c, const Message& m) { return apply_certificate(c, m); });
  worker::on<RemoveCertificate, CertificateRemoved>(
      dispatcher, "payments.remove_certificate",
      [this](const RemoveCertificate& c, const Message& m) { return remove_certificate(c, m); });
}

void PaymentsService::open_payment(const std::string& payment_id, std::int64_t amount) {
  if (payment_id.empty()) throw std::invalid_argument("open_payment: an empty payment id");
  if (amount <= 0) throw std::invalid_argument("open_payment: amount must be above zero");
  std::lock_guard lock(mutex_);
  if (payments_.contains(payment_id)) {
    throw std::invalid_argument("open_payment: payment " + payment_id + " already exists");
  }
  payments_[payment_id] = Payment{.payment_id = payment_id, .amount = amount};
  ledger_.push_back(Effect{"open/" + payment_id, "open", payment_id, amount});
}

std::string PaymentsService::redirect_url(const std::string& payment_id) const {
  return checkout_url_ + payment_id;
}

worker::Outcome<payments::Created> PaymentsService::create(const payments::Create& c,
                                                           const Message& m) {
  using Outcome = worker::Outcome<payments::Created>;
  if (c.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  std::lock_guard lock(mutex_);
  // The same reference paid again (a resend under another key) is the same payment.
  if (auto known = references_.find(c.reference); known != references_.end()) {
    const auto& p = payments_.at(known->second);
    if (p.amount != c.amount || p.booking_id != c.booking_id) {
      return Outcome::business_failure("ReferenceReused");
    }
    return payments::Created{p.payment_id, redirect_url(p.payment_id), p.amount,
                             to_string(p.status)};
  }
  std::string payment_id = "pay-" + std::to_string(next_id_++);
  while (payments_.contains(payment_id)) payment_id = "pay-" + std::to_string(next_id_++);
  Payment p{.payment_id = std::move(payment_id),
            .reference = c.reference,
            .booking_id = c.booking_id,
            .amount = c.amount};
  references_[c.reference] = p.payment_id;
  payments_[p.payment_id] = p;
  ledger_.push_back(Effect{m.idempotency_key, "create", p.payment_id, p.amount});
  return payments::Created{p.payment_id, redirect_url(p.payment_id), p.amount, to_string(p.status)};
}

// Cancelling nothing, or a payment already cancelled or refunded, succeeds with done=false.
worker::Outcome<payments::Undone> PaymentsService::cancel(const payments::CancelByReference& c,
                                                          const Message& m) {
  std::lock_guard lock(mutex_);
  auto known = references_.find(c.reference);
  if (known == references_.end()) return payments::Undone{false, ""};
  auto& p = payments_.at(known->second);
  switch (p.status) {
    case Status::cancelled:
    case Status::refunded:
      return payments::Undone{false, to_string(p.status)};
    case Status::succeeded:
      p.status = Status::refunded;
      ledger_.push_back(Effect{m.idempotency_key, "refund", p.payment_id, p.amount});
      return payments::Undone{true, to_string(p.status)};
    case Status::pending:
    case Status::failed:
      p.status = Status::cancelled;
      ledger_.push_back(Effect{m.idempotency_key, "cancel", p.payment_id, p.amount});
      return payments::Undone{true, to_string(p.status)};
  }
  return payments::Undone{false, to_string(p.status)};
}

worker::Outcome<payments::CertificateApplied> PaymentsService::apply_certificate(
    const payments::ApplyCertificate& c, const Message& m) {
  using Outcome = worker::Outcome<payments::CertificateApplied>;
  if (c.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  std::lock_guard lock(mutex_);
  auto found = payments_.find(c.payment_id);
  if (found == payments_.end()) return Outcome::business_failure("UnknownPayment");
  auto& p = found->second;
  auto applied = [&p](const Tender& t) {
    return payments::CertificateApplied{p.payment_id, t.reference, t.amount, p.covered,
                                        p.amount - p.covered};
  };
  // The same tender applied again (a resend under another key) is the same tender.
  if (auto known = tenders_.find({c.payment_id, c.reference}); known != tenders_.end()) {
    const auto& t = known->second;
    if (t.status == TenderStatus::removed) return Outcome::business_failure("TenderRemoved");
    if (t.amount != c.amount) return Outcome::business_failure("ReferenceReused");
    return applied(t);
  }
  if (p.status == Status::cancelled || p.status == Status::refunded) {
    return Outcome::business_failure("PaymentClosed");
  }
  if (c.amount > p.amount - p.covered) return Outcome::business_failure("AmountExceedsOutstanding");
  Tender t{.payment_id = p.payment_id, .reference = c.reference, .amount = c.amount};
  p.covered += c.amount;
  tenders_[{p.payment_id, c.reference}] = t;
  ledger_.push_back(Effect{m.idempotency_key, "apply_certificate", p.payment_id, c.amount});
  return applied(t);
}

// Removing nothing succeeds with done=false; the reference is then kept as removed, so that an
// apply arriving late (after its compensation) is refused instead of covering the payment.
worker::Outcome<payments::CertificateRemoved> PaymentsService::remove_certificate(
    const payments::RemoveCertificate& c, const Message& m) {
  std::lock_guard lock(mutex_);
  auto found = payments_.find(c.payment_id);
  if (found == payments_.end()) return payments::CertificateRemoved{false, 0, 0};
  auto& p = found->second;
  auto [it, inserted] =
      tenders_.try_emplace({c.payment_id, c.reference}, Tender{.payment_id = p.payment_id,
                                                               .reference = c.reference,
                                                               .status = TenderStatus::removed});
  auto& t = it->second;
  if (inserted || t.status == TenderStatus::removed) {
    return payments::CertificateRemoved{false, 0, p.amount - p.covered};
  }
  t.status = TenderStatus::removed;
  p.covered -= t.amount;
  ledger_.push_back(Effect{m.idempotency_key, "remove_certificate", p.payment_id, t.amount});
  return payments::CertificateRemoved{true, t.amount, p.amount - p.covered};
}

PaymentsService::WebhookResult PaymentsService::reject(std::string_view body,
                                                       WebhookResult result) {
  result.accepted = false;
  if (rejected_.size() >= kMaxRejectedKept) rejected_.erase(rejected_.begin());
  rejected_.push_back(RejectedWebhook{std::string(body), result.error});
  return result;
}

PaymentsService::WebhookResult PaymentsService::handle_webhook(std::string_view body) {
  WebhookResult result;
  Message event;
  EventSink sink;
  {
    std::lock_guard lock(mutex_);
    boost::system::error_code ec;
    auto parsed = json::parse(body, ec);
    if (ec || !parsed.is_object()) {
      result.error = "MalformedWebhook";
      return reject(body, result);
    }
    const auto& o = parsed.as_object();
    result.payment_id = string_field(o, "payment_id");
    const auto status = string_field(o, "status");
    std::int64_t amount = 0;
    if (result.payment_id.empty() || (status != "succeeded" && status != "failed") ||
        !int_field(o, "amount", amount)) {
      result.error = "MalformedWebhook";
      return reject(body, result);
    }
    if (!webhook_secret_.empty() &&
        string_field(o, "signature") != sign(webhook_secret_, result.payment_id, status, amount)) {
      result.error = "BadSignature";
      return reject(body, result);
    }
    auto found = payments_.find(result.payment_id);
    if (found == payments_.end()) {
      result.error = "UnknownPayment";
      return reject(body, result);
    }
    auto& p = found->second;
    if (amount != p.amount) {
      result.error = "AmountMismatch";
      return reject(body, result);
    }
    if (p.status == Status::cancelled || p.status == Status::refunded) {
      result.error = "PaymentClosed";
      return reject(body, result);
    }
    if (p.status == Status::succeeded && status == "failed") {
      result.error = "AlreadySucceeded";
      return reject(body, result);
    }
    const bool succeeded = status == "succeeded";
    result.accepted = true;
    result.event_type = succeeded ? "payment.succeeded" : "payment.failed";
    // The same state reported again is a redelivery: the same event, under the same id.
    result.duplicate = succeeded ? p.status == Status::succeeded : p.status == Status::failed;
    if (!result.duplicate) {
      if (succeeded) {
        p.status = Status::succeeded;
      } else {
        p.status = Status::failed;
        p.failures += 1;
      }
    }
    result.event_id = succeeded
                          ? "payment.succeeded/" + p.payment_id
                          : "payment.failed/" + p.payment_id + "/" + std::to_string(p.failures);
    if (!result.duplicate) {
      ledger_.push_back(Effect{result.event_id, status, p.payment_id, p.amount});
    }
    event = make_event(result.event_id, result.event_type,
                       json::object{{"payment_id", p.payment_id},
                                    {"booking_id", p.booking_id},
                                    {"reference", p.reference},
                                    {"amount", p.amount},
                                    {"status", status}});
    published_.push_back(event);
    sink = sink_;
  }
  // Outside the lock: the sink may deliver at once, and the saga may command this service.
  if (sink) sink(std::move(event));
  return result;
}

std::string PaymentsService::sign(std::string_view secret, std::string_view payment_id,
                                  std::string_view status, std::int64_t amount) {
  std::uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char ch : text) {
      hash ^= ch;
      hash *= 1099511628211ULL;
    }
    hash ^= 0xffU;  // a separator no field can forge
    hash *= 1099511628211ULL;
  };
  mix(secret);
  mix(payment_id);
  mix(status);
  mix(std::to_string(amount));
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string PaymentsService::webhook_body(const std::string& payment_id, const std::string& status,
                                          std::int64_t amount, std::string_view secret) {
  json::object body{{"payment_id", payment_id}, {"status", status}, {"amount", amount}};
  if (!secret.empty()) body["signature"] = sign(secret, payment_id, status, amount);
  return json::serialize(body);
}

std::map<std::string, PaymentsService::Payment> PaymentsService::payments() const {
  std::lock_guard lock(mutex_);
  return payments_;
}

PaymentsService::Payment PaymentsService::payment(const std::string& payment_id) const {
  std::lock_guard lock(mutex_);
  auto it = payments_.find(payment_id);
  return it == payments_.end() ? Payment{} : it->second;
}

PaymentsService::Payment PaymentsService::payment_by_reference(const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto it = references_.find(reference);
  return it == references_.end() ? Payment{} : payments_.at(it->second);
}

PaymentsService::Tender PaymentsService::tender(const std::string& payment_id,
                                                const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto it = tenders_.find({payment_id, reference});
  return it == tenders_.end() ? Tender{} : it->second;
}

std::vector<Effect> PaymentsService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

std::vector<PaymentsService::RejectedWebhook> PaymentsService::rejected_webhooks() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

std::vector<Message> PaymentsService::published() const {
  std::lock_guard lock(mutex_);
  return published_;
}

bool PaymentsService::invariant_holds() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::map<std::string, int>> kinds;  // payment -> kind -> count
  std::map<std::string, std::int64_t> covered;              // payment -> by the ledger
  for (const auto& e : ledger_) {
    auto& k = kinds[e.subject];
    const bool opening = e.kind == "create" || e.kind == "open";
    // Nothing happens to a payment before it is created (or opened), or after it was closed;
    // only a tender may still be removed from a closed payment (a compensation must succeed).
    if (!opening && k["create"] + k["open"] != 1) return false;
    if (!opening && e.kind != "remove_certificate" && (k["cancel"] != 0 || k["refund"] != 0))
      return false;
    if ((e.kind == "failed" || e.kind == "cancel") && k["succeeded"] != 0) return false;
    if (e.kind == "refund" && k["succeeded"] != 1) return false;
    if (e.kind == "apply_certificate") covered[e.subject] += e.amount;
    if (e.kind == "remove_certificate") covered[e.subject] -= e.amount;
    k[e.kind] += 1;
  }
  std::map<std::string, std::int64_t> tendered;  // payment -> applied tenders
  for (const auto& [key, t] : tenders_) {
    if (key.first != t.payment_id || key.second != t.reference) return false;
    if (!payments_.contains(t.payment_id) || t.amount < 0) return false;
    if (t.status == TenderStatus::applied) tendered[t.payment_id] += t.amount;
  }
  for (const auto& [id, p] : payments_) {
    auto& k = kinds[id];
    if (k["create"] + k["open"] != 1 || k["succeeded"] > 1 || k["failed"] != p.failures)
      return false;
    if (p.covered < 0 || p.covered > p.amount || p.covered != covered[id] ||
        p.covered != tendered[id])
      return false;
    switch (p.status) {
      case Status::pending:
        if (k["succeeded"] + k["failed"] + k["cancel"] + k["refund"] != 0) return false;
        break;
      case Status::succeeded:
        if (k["succeeded"] != 1 || k["refund"] != 0) return false;
        break;
      case Status::failed:
        if (k["failed"] == 0 || k["succeeded"] + k["cancel"] != 0) return false;
        break;
      case Status::cancelled:
        if (k["cancel"] != 1 || k["succeeded"] != 0) return false;
        break;
      case Status::refunded:
        if (k["refund"] != 1 || k["succeeded"] != 1) return false;
        break;
    }
  }
  return kinds.size() == payments_.size();
}

}  // namespace sagaflow::sagas
