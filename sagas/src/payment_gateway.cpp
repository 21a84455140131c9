#include "sagaflow/sagas/payment_gateway.hpp"

namespace sagaflow::sagas {

void PaymentGatewayService::register_method(const std::string& method, std::int64_t funds) {
  std::lock_guard lock(mutex_);
  methods_[method] = Method{.initial = funds, .funds = funds};
}

void PaymentGatewayService::decline(const std::string& method) {
  std::lock_guard lock(mutex_);
  methods_[method].declined = true;
}

void PaymentGatewayService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace payment_gateway;
  worker::on<Charge, Charged>(dispatcher, "payment_gateway.charge",
                              [this](const Charge& c, const Message& m) { return charge(c, m); });
  worker::on<Refund, Refunded>(dispatcher, "payment_gateway.refund",
                               [this](const Refund& r, const Message& m) { return refund(r, m); });
}

worker::Outcome<payment_gateway::Charged> PaymentGatewayService::charge(
    const payment_gateway::Charge& c, const Message& m) {
  using Outcome = worker::Outcome<payment_gateway::Charged>;
  if (c.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  std::lock_guard lock(mutex_);
  // The same reference charged again (a resend under another key) is the same payment.
  if (auto known = payments_.find(c.reference); known != payments_.end()) {
    if (known->second.amount != c.amount || known->second.method != c.method) {
      return Outcome::business_failure("ReferenceReused");
    }
    return payment_gateway::Charged{known->second.payment_id, known->second.amount};
  }
  auto method = methods_.find(c.method);
  if (method == methods_.end()) return Outcome::business_failure("UnknownMethod");
  if (method->second.declined) return Outcome::business_failure("CardDeclined");
  if (method->second.funds < c.amount) return Outcome::business_failure("InsufficientFunds");
  method->second.funds -= c.amount;
  auto id = "pay-" + std::to_string(next_id_++);
  payments_[c.reference] = Payment{id, c.user_id, c.method, c.amount, PaymentStatus::captured};
  ledger_.push_back(Effect{m.idempotency_key, "charge", id, c.amount});
  return payment_gateway::Charged{id, c.amount};
}

// Refunding a charge that never happened (or was already refunded) succeeds with done=false.
worker::Outcome<payment_gateway::Refunded> PaymentGatewayService::refund(
    const payment_gateway::Refund& r, const Message& m) {
  std::lock_guard lock(mutex_);
  auto found = payments_.find(r.reference);
  if (found == payments_.end() || found->second.status != PaymentStatus::captured) {
    return payment_gateway::Refunded{false, 0};
  }
  auto& payment = found->second;
  methods_[payment.method].funds += payment.amount;
  payment.status = PaymentStatus::refunded;
  ledger_.push_back(Effect{m.idempotency_key, "refund", payment.payment_id, payment.amount});
  return payment_gateway::Refunded{true, payment.amount};
}

PaymentGatewayService::Method PaymentGatewayService::method(const std::string& method) const {
  std::lock_guard lock(mutex_);
  auto it = methods_.find(method);
  return it == methods_.end() ? Method{} : it->second;
}

std::map<std::string, PaymentGatewayService::Payment> PaymentGatewayService::payments() const {
  std::lock_guard lock(mutex_);
  return payments_;
}

std::vector<PaymentGatewayService::Effect> PaymentGatewayService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool PaymentGatewayService::conserved() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> held;
  for (const auto& [reference, p] : payments_) {
    if (p.status == PaymentStatus::captured) held[p.method] += p.amount;
  }
  for (const auto& [name, method] : methods_) {
    if (method.funds + held[name] != method.initial) return false;
  }
  std::int64_t charged = 0;
  for (const auto& e : ledger_) charged += e.kind == "charge" ? e.amount : -e.amount;
  std::int64_t captured = 0;
  for (const auto& [name, amount] : held) captured += amount;
  return charged == captured;
}

std::int64_t PaymentGatewayService::captured_total() const {
  std::lock_guard lock(mutex_);
  std::int64_t total = 0;
  for (const auto& [reference, p] : payments_) {
    if (p.status == PaymentStatus::captured) total += p.amount;
  }
  return total;
}

}  // namespace sagaflow::sagas
