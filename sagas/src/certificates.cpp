#include "sagaflow/sagas/certificates.hpp"

#include <set>

namespace sagaflow::sagas {

namespace {

std::string line_key(const std::string& order_id, const std::string& order_line_id) {
  return order_id + "/" + order_line_id;
}

const char* to_string(CertificatesService::State state) {
  switch (state) {
    case CertificatesService::State::available:
      return "available";
    case CertificatesService::State::reserved:
      return "reserved";
    case CertificatesService::State::active:
      return "active";
  }
  return "unknown";
}

}  // namespace

void CertificatesService::add_code(const std::string& code) {
  Lock lock(mutex_);
  certificates_[code] = Certificate{.code = code};
}

void CertificatesService::issue(const std::string& code, std::int64_t balance) {
  Lock lock(mutex_);
  certificates_[code] = Certificate{.code = code,
                                    .state = State::active,
                                    .sold = true,
                                    .denomination = balance,
                                    .balance = balance,
                                    .cvc = "000"};
}

void CertificatesService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace certificates;
  worker::on<Authorize, Authorized>(
      dispatcher, "certificates.authorize",
      [this](const Authorize& a, const Message& m) { return authorize(a, m); });
  worker::on<LineRef, Undone>(dispatcher, "certificates.release",
                              [this](const LineRef& r, const Message& m) { return release(r, m); });
  worker::on<RecordPayment, PaymentRecorded>(
      dispatcher, "certificates.record_payment",
      [this](const RecordPayment& r, const Message& m) { return record_payment(r, m); });
  worker::on<LineRef, Activated>(
      dispatcher, "certificates.activate",
      [this](const LineRef& r, const Message& m) { return activate(r, m); });
  worker::on<AuthorizeHold, HoldAuthorized>(
      dispatcher, "certificates.authorize_hold",
      [this](const AuthorizeHold& h, const Message& m) { return authorize_hold(h, m); });
  worker::on<HoldRef, Undone>(
      dispatcher, "certificates.release_hold",
      [this](const HoldRef& r, const Message& m) { return release_hold(r, m); });
  worker::on<HoldRef, Captured>(
      dispatcher, "certificates.capture",
      [this](const HoldRef& r, const Message& m) { return capture(r, m); });
  worker::on<HoldRef, Voided>(
      dispatcher, "certificates.void",
      [this](const HoldRef& r, const Message& m) { return void_capture(r, m); });
}

// --- sale and activation -------------------------------------------------------------------

worker::Outcome<certificates::Authorized> CertificatesService::authorize(
    const certificates::Authorize& a, const Message& m) {
  using Outcome = worker::Outcome<certificates::Authorized>;
  if (a.denomination <= 0) return Outcome::business_failure("InvalidDenomination");
  Lock lock(mutex_);
  auto found = certificates_.find(a.code);
  if (found == certificates_.end()) return Outcome::business_failure("UnknownCode");
  auto& cert = found->second;
  if (cert.sold) return Outcome::business_failure("CodeAlreadySold");
  const auto key = line_key(a.order_id, a.order_line_id);
  if (auto line = allocations_.find(key); line != allocations_.end()) {
    // The same line authorized again (a resend under another key) is the same allocation.
    if (line->second.code == a.code)
      return certificates::Authorized{line->second.allocation_id, a.code};
    return Outcome::business_failure("LineAlreadyAllocated");
  }
  if (cert.state != State::available) return Outcome::business_failure("CodeReserved");
  cert.state = State::reserved;
  cert.channel = a.channel;
  cert.order_id = a.order_id;
  cert.order_line_id = a.order_line_id;
  auto id = new_id("alloc-");
  allocations_[key] = Allocation{.allocation_id = id,
                                 .order_id = a.order_id,
                                 .order_line_id = a.order_line_id,
                                 .code = a.code,
                                 .planned_denomination = a.denomination,
                                 .recipient = a.recipient};
  record(m, "authorize", a.code, a.order_line_id, a.denomination);
  return certificates::Authorized{id, a.code};
}

// Releasing a line that was never authorized (or already released) succeeds with done=false.
// A line whose certificate is activated (sold) is not released: done=false, nothing changes.
worker::Outcome<certificates::Undone> CertificatesService::release(const certificates::LineRef& r,
                                                                   const Message& m) {
  Lock lock(mutex_);
  auto line = allocations_.find(line_key(r.order_id, r.order_line_id));
  if (line == allocations_.end() || line->second.status != AllocationStatus::reserved) {
    return certificates::Undone{false};
  }
  auto& cert = certificates_[line->second.code];
  cert.state = State::available;
  cert.channel.clear();
  cert.order_id.clear();
  cert.order_line_id.clear();
  record(m, "release", line->second.code, r.order_line_id, line->second.planned_denomination);
  allocations_.erase(line);
  return certificates::Undone{true};
}

worker::Outcome<certificates::PaymentRecorded> CertificatesService::record_payment(
    const certificates::RecordPayment& r, const Message& m) {
  using Outcome = worker::Outcome<certificates::PaymentRecorded>;
  Lock lock(mutex_);
  bool has_lines = false;
  for (const auto& [key, allocation] : allocations_) has_lines |= allocation.order_id == r.order_id;
  if (!has_lines) return Outcome::business_failure("UnknownOrder");
  auto& last = payment_versions_[r.order_id];
  if (r.payment_version <= last) {
    return certificates::PaymentRecorded{false, last, collected_total(r.order_id)};
  }
  last = r.payment_version;
  for (const auto& paid : r.allocations) {
    auto line = allocations_.find(line_key(r.order_id, paid.order_line_id));
    if (line != allocations_.end()) line->second.collected_amount = paid.collected_amount;
  }
  const auto total = collected_total(r.order_id);
  record(m, "record_payment", "", r.order_id + "@" + std::to_string(r.payment_version), total);
  return certificates::PaymentRecorded{true, last, total};
}

worker::Outcome<certificates::Activated> CertificatesService::activate(
    const certificates::LineRef& r, const Message& m) {
  using Outcome = worker::Outcome<certificates::Activated>;
  Lock lock(mutex_);
  auto line = allocations_.find(line_key(r.order_id, r.order_line_id));
  if (line == allocations_.end()) return Outcome::business_failure("UnknownAllocation");
  auto& allocation = line->second;
  auto& cert = certificates_[allocation.code];
  auto reply = [&](const std::string& operation_id) {
    return certificates::Activated{
        allocation.order_line_id, cert.code,    cert.denomination,         cert.balance,
        to_string(cert.state),    operation_id, allocation.recipient.phone};
  };
  if (allocation.status == AllocationStatus::activated) {
    // Activated already (a resend under another key): the same certificate, no new operation.
    for (const auto& op : operations_) {
      if (op.kind == "Activate" && op.code == cert.code) return reply(op.operation_id);
    }
  }
  if (cert.sold) return Outcome::business_failure("CodeAlreadySold");
  if (allocation.collected_amount < allocation.planned_denomination) {
    return Outcome::business_failure("NotPaid");
  }
  allocation.status = AllocationStatus::activated;
  cert.state = State::active;
  cert.sold = true;
  cert.channel.clear();
  cert.denomination = allocation.planned_denomination;
  cert.balance = allocation.planned_denomination;
  cert.cvc = std::to_string(100 + (next_id_ * 7919) % 900);
  auto op = add_operation(m, Operation{.kind = "Activate",
                                       .code = cert.code,
                                       .amount = cert.balance,
                                       .balance_after = cert.balance});
  record(m, "activate", cert.code, r.order_line_id, cert.balance);
  return reply(op);
}

// --- redemption ----------------------------------------------------------------------------

worker::Outcome<certificates::HoldAuthorized> CertificatesService::authorize_hold(
    const certificates::AuthorizeHold& h, const Message& m) {
  using Outcome = worker::Outcome<certificates::HoldAuthorized>;
  if (h.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (h.reference.empty()) return Outcome::business_failure("MissingReference");
  Lock lock(mutex_);
  auto found = certificates_.find(h.code);
  if (found == certificates_.end()) return Outcome::business_failure("UnknownCode");
  auto& cert = found->second;
  if (auto known = holds_.find(h.reference); known != holds_.end()) {
    // The same redemption asked again (a resend under another key): the same hold.
    if (known->second.code != h.code || known->second.amount != h.amount) {
      return Outcome::business_failure("ReferenceReused");
    }
    return certificates::HoldAuthorized{known->second.authorization_id, h.code, h.amount,
                                        cert.balance - cert.held};
  }
  if (cert.state != State::active) return Outcome::business_failure("CertificateNotActive");
  if (cert.balance - cert.held < h.amount) return Outcome::business_failure("InsufficientBalance");
  cert.held += h.amount;
  auto id = new_id("auth-");
  holds_[h.reference] =
      Hold{.authorization_id = id, .reference = h.reference, .code = h.code, .amount = h.amount};
  record(m, "hold", h.code, id, h.amount);
  return certificates::HoldAuthorized{id, h.code, h.amount, cert.balance - cert.held};
}

// An open hold is released. No hold, or one released already: done=false. A captured hold is
// refused (HoldAlreadyCaptured): a capture is undone by void, never by forgetting the hold, so a
// saga that reaches this parks for an operator instead of losing the customer's money.
worker::Outcome<certificates::Undone> CertificatesService::release_hold(
    const certificates::HoldRef& r, const Message& m) {
  Lock lock(mutex_);
  auto found = holds_.find(r.reference);
  if (found == holds_.end() || found->second.status == HoldStatus::released) {
    return certificates::Undone{false};
  }
  auto& hold = found->second;
  if (hold.status == HoldStatus::captured) {
    return worker::Outcome<certificates::Undone>::business_failure("HoldAlreadyCaptured");
  }
  certificates_[hold.code].held -= hold.amount;
  hold.status = HoldStatus::released;
  record(m, "release_hold", hold.code, hold.authorization_id, hold.amount);
  return certificates::Undone{true};
}

worker::Outcome<certificates::Captured> CertificatesService::capture(const certificates::HoldRef& r,
                                                                     const Message& m) {
  using Outcome = worker::Outcome<certificates::Captured>;
  Lock lock(mutex_);
  auto found = holds_.find(r.reference);
  if (found == holds_.end()) return Outcome::business_failure("UnknownAuthorization");
  auto& hold = found->second;
  auto& cert = certificates_[hold.code];
  if (hold.status == HoldStatus::captured) {
    // Captured already (a resend under another key): the same capture, nothing new.
    for (const auto& op : operations_) {
      if (op.operation_id == hold.capture_operation) {
        return certificates::Captured{hold.authorization_id, op.operation_id, hold.code,
                                      hold.amount, op.balance_after};
      }
    }
  }
  if (hold.status != HoldStatus::open) return Outcome::business_failure("HoldNotOpen");
  cert.held -= hold.amount;
  cert.balance -= hold.amount;
  hold.status = HoldStatus::captured;
  hold.capture_operation = add_operation(m, Operation{.kind = "Capture",
                                                      .code = hold.code,
                                                      .amount = hold.amount,
                                                      .balance_after = cert.balance,
                                                      .authorization_id = hold.authorization_id});
  record(m, "capture", hold.code, hold.authorization_id, hold.amount);
  return certificates::Captured{hold.authorization_id, hold.capture_operation, hold.code,
                                hold.amount, cert.balance};
}

// Voids the capture of a reference: the balance comes back and a Void operation is recorded.
// Nothing captured, or voided already: done=false and nothing changes.
worker::Outcome<certificates::Voided> CertificatesService::void_capture(
    const certificates::HoldRef& r, const Message& m) {
  Lock lock(mutex_);
  auto found = holds_.find(r.reference);
  if (found == holds_.end() || found->second.status != HoldStatus::captured ||
      !found->second.void_operation.empty()) {
    return certificates::Voided{};
  }
  auto& hold = found->second;
  auto& cert = certificates_[hold.code];
  cert.balance += hold.amount;
  hold.void_operation = add_operation(m, Operation{.kind = "Void",
                                                   .code = hold.code,
                                                   .amount = hold.amount,
                                                   .balance_after = cert.balance,
                                                   .authorization_id = hold.authorization_id,
                                                   .voided_operation_id = hold.capture_operation});
  record(m, "void", hold.code, hold.authorization_id, hold.amount);
  return certificates::Voided{true,      hold.void_operation, hold.capture_operation,
                              hold.code, hold.amount,         cert.balance};
}

// --- bookkeeping ---------------------------------------------------------------------------

std::string CertificatesService::new_id(const char* prefix) {
  return prefix + std::to_string(next_id_++);
}

std::string CertificatesService::add_operation(const Message& m, Operation op) {
  op.operation_id = new_id("op-");
  op.command_id = m.idempotency_key;
  operations_.push_back(op);
  return op.operation_id;
}

void CertificatesService::record(const Message& m, std::string kind, const std::string& code,
                                 const std::string& ref, std::int64_t amount) {
  ledger_.push_back(Effect{m.idempotency_key, std::move(kind), code, ref, amount});
}

std::int64_t CertificatesService::collected_total(const std::string& order_id) const {
  std::int64_t total = 0;
  for (const auto& [key, allocation] : allocations_) {
    if (allocation.order_id == order_id) total += allocation.collected_amount;
  }
  return total;
}

CertificatesService::Certificate CertificatesService::certificate(const std::string& code) const {
  Lock lock(mutex_);
  auto it = certificates_.find(code);
  return it == certificates_.end() ? Certificate{} : it->second;
}

std::string CertificatesService::cvc(const std::string& code) const {
  Lock lock(mutex_);
  auto it = certificates_.find(code);
  if (it == certificates_.end() || it->second.state != State::active) return {};
  return it->second.cvc;
}

std::vector<CertificatesService::Allocation> CertificatesService::allocations(
    const std::string& order_id) const {
  Lock lock(mutex_);
  std::vector<Allocation> out;
  for (const auto& [key, allocation] : allocations_) {
    if (allocation.order_id == order_id) out.push_back(allocation);
  }
  return out;
}

std::int64_t CertificatesService::payment_version(const std::string& order_id) const {
  Lock lock(mutex_);
  auto it = payment_versions_.find(order_id);
  return it == payment_versions_.end() ? 0 : it->second;
}

CertificatesService::Hold CertificatesService::hold(const std::string& reference) const {
  Lock lock(mutex_);
  auto it = holds_.find(reference);
  return it == holds_.end() ? Hold{} : it->second;
}

std::vector<CertificatesService::Operation> CertificatesService::operations() const {
  Lock lock(mutex_);
  return operations_;
}

std::vector<CertificatesService::Effect> CertificatesService::ledger() const {
  Lock lock(mutex_);
  return ledger_;
}

bool CertificatesService::balances_never_negative() const {
  Lock lock(mutex_);
  for (const auto& [code, cert] : certificates_) {
    if (cert.balance < 0 || cert.held < 0 || cert.held > cert.balance) return false;
  }
  return true;
}

bool CertificatesService::each_capture_voided_at_most_once() const {
  Lock lock(mutex_);
  std::set<std::string> voided;
  for (const auto& op : operations_) {
    if (op.kind == "Void" && !voided.insert(op.voided_operation_id).second) return false;
  }
  return true;
}

bool CertificatesService::each_code_sold_at_most_once() const {
  Lock lock(mutex_);
  std::set<std::string> sold;
  for (const auto& op : operations_) {
    if (op.kind == "Activate" && !sold.insert(op.code).second) return false;
  }
  for (const auto& code : sold) {
    if (!certificates_.at(code).sold) return false;
  }
  return true;
}

bool CertificatesService::balances_match_operations() const {
  Lock lock(mutex_);
  std::map<std::string, std::int64_t> moved;
  for (const auto& op : operations_) {
    if (op.kind == "Capture") moved[op.code] -= op.amount;
    if (op.kind == "Void") moved[op.code] += op.amount;
  }
  for (const auto& [code, cert] : certificates_) {
    if (cert.state != State::active && cert.balance != 0) return false;
    if (cert.state == State::active && cert.balance != cert.denomination + moved[code]) {
      return false;
    }
  }
  return true;
}

bool CertificatesService::invariants_hold() const {
  return balances_never_negative() && each_capture_voided_at_most_once() &&
         each_code_sold_at_most_once() && balances_match_operations();
}

}  // namespace sagaflow::sagas
