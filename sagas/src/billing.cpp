#include "sagaflow/sagas/billing.hpp"

namespace sagaflow::sagas {

BillingService::BillingService(std::int64_t opening_balance) : opening_balance_(opening_balance) {}

void BillingService::open_account(const std::string& user, std::int64_t balance) {
  std::lock_guard lock(mutex_);
  accounts_[user] = Account{.funded = balance, .balance = balance};
}

bool BillingService::deposit(const std::string& user, std::int64_t amount) {
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(user);
  if (amount <= 0 || account == accounts_.end() || account->second.closed) return false;
  account->second.funded += amount;
  account->second.balance += amount;
  return true;
}

void BillingService::block(const std::string& user) {
  std::lock_guard lock(mutex_);
  blocked_.insert(user);
}

void BillingService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace billing;
  worker::on<AccountRef, AccountCreated>(
      dispatcher, "billing.create_account",
      [this](const AccountRef& r, const Message& m) { return create_account(r, m); });
  worker::on<AccountRef, Undone>(
      dispatcher, "billing.delete_account",
      [this](const AccountRef& r, const Message& m) { return delete_account(r, m); });
  // order_payment sends the coupon's discount, which is null when no coupon was applied (the
  // step was skipped): null counts as no discount. The rest is the typed contract.
  dispatcher.on("billing.charge", [this](const worker::Command& c) {
    auto payload = c.payload;
    if (auto* object = payload.if_object()) {
      auto* discount = object->if_contains("discount");
      if (discount == nullptr || discount->is_null()) (*object)["discount"] = 0;
    }
    billing::Charge command;
    try {
      command = worker::from_json_text<billing::Charge>(json::serialize(payload));
    } catch (const worker::ContractError& e) {
      return worker::Result::business_failure("MalformedPayload",
                                              json::object{{"error", e.what()}});
    }
    auto outcome = charge(command, c.message);
    if (!outcome.ok()) {
      return worker::Result{outcome.failure_kind(), outcome.error_code(), json::object{}};
    }
    return worker::Result::ok(json::parse(worker::to_json_text(outcome.reply())));
  });
  worker::on<Refund, Refunded>(dispatcher, "billing.refund",
                               [this](const Refund& r, const Message& m) { return refund(r, m); });
}

worker::Outcome<billing::AccountCreated> BillingService::create_account(
    const billing::AccountRef& r, const Message& m) {
  using Outcome = worker::Outcome<billing::AccountCreated>;
  if (r.user_id.empty()) return Outcome::business_failure("InvalidUser");
  std::lock_guard lock(mutex_);
  if (blocked_.contains(r.user_id)) return Outcome::business_failure("AccountBlocked");
  auto existing = accounts_.find(r.user_id);
  if (existing != accounts_.end() && !existing->second.closed) {
    return Outcome::business_failure("AccountExists");
  }
  accounts_[r.user_id] = Account{.funded = opening_balance_, .balance = opening_balance_};
  ledger_.push_back(Effect{m.idempotency_key, "create_account", r.user_id, opening_balance_});
  return billing::AccountCreated{r.user_id, opening_balance_};
}

// Closing an account that is not there (its creation failed or never arrived) succeeds with
// done=false. A closed account keeps its figures (the invariant still holds) but takes no charge.
worker::Outcome<billing::Undone> BillingService::delete_account(const billing::AccountRef& r,
                                                                const Message& m) {
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(r.user_id);
  if (account == accounts_.end() || account->second.closed) return billing::Undone{false};
  account->second.closed = true;
  ledger_.push_back(Effect{m.idempotency_key, "delete_account", r.user_id, 0});
  return billing::Undone{true};
}

worker::Outcome<billing::Charged> BillingService::charge(const billing::Charge& c,
                                                         const Message& m) {
  using Outcome = worker::Outcome<billing::Charged>;
  auto amount = c.total - c.discount;
  if (c.order_id.empty() || c.total < 0 || c.discount < 0 || amount < 0) {
    return Outcome::business_failure("InvalidAmount");
  }
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(c.user_id);
  if (account == accounts_.end() || account->second.closed) {
    return Outcome::business_failure("UnknownAccount");
  }
  if (charges_.contains(c.order_id)) return Outcome::business_failure("AlreadyCharged");
  if (account->second.balance < amount) return Outcome::business_failure("InsufficientFunds");
  account->second.balance -= amount;
  account->second.charged += amount;
  auto id = "chg-" + std::to_string(next_id_++);
  charges_[c.order_id] = Charge{id, c.user_id, amount};
  ledger_.push_back(Effect{m.idempotency_key, "charge", c.order_id, amount});
  return billing::Charged{id, amount, account->second.balance};
}

// Refunding an order that was never charged (the charge failed or never arrived) or that was
// refunded already succeeds with done=false and moves no money.
worker::Outcome<billing::Refunded> BillingService::refund(const billing::Refund& r,
                                                          const Message& m) {
  std::lock_guard lock(mutex_);
  auto charge = charges_.find(r.order_id);
  if (charge == charges_.end() || charge->second.state != ChargeState::charged) {
    return billing::Refunded{false, 0};
  }
  auto& account = accounts_[charge->second.user];
  account.balance += charge->second.amount;
  account.refunded += charge->second.amount;
  charge->second.state = ChargeState::refunded;
  ledger_.push_back(Effect{m.idempotency_key, "refund", r.order_id, charge->second.amount});
  return billing::Refunded{true, charge->second.amount};
}

bool BillingService::has_account(const std::string& user) const {
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(user);
  return account != accounts_.end() && !account->second.closed;
}

BillingService::Account BillingService::account(const std::string& user) const {
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(user);
  return account == accounts_.end() ? Account{} : account->second;
}

std::map<std::string, BillingService::Charge> BillingService::charges() const {
  std::lock_guard lock(mutex_);
  return charges_;
}

std::vector<Effect> BillingService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool BillingService::conserved() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_user;  // charged, refunded
  for (const auto& [order, c] : charges_) {
    by_user[c.user].first += c.amount;
    if (c.state == ChargeState::refunded) by_user[c.user].second += c.amount;
  }
  for (const auto& [user, a] : accounts_) {
    if (a.balance + a.charged != a.funded + a.refunded) return false;
    if (a.refunded > a.charged || a.balance < 0) return false;
    auto totals = by_user[user];
    if (totals.first != a.charged || totals.second != a.refunded) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
