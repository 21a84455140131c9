#include "sagaflow/sagas/points.hpp"

#include "payload.hpp"

namespace sagaflow::sagas {

void PointsService::open_account(const std::string& user, std::int64_t balance) {
  std::lock_guard lock(mutex_);
  accounts_[user] = Account{.initial = balance, .balance = balance};
}

void PointsService::register_handlers(worker::Dispatcher& dispatcher) {
  dispatcher.on("points.reserve", [this](const worker::Command& c) { return reserve(c); });
  dispatcher.on("points.release", [this](const worker::Command& c) { return release(c); });
  dispatcher.on("points.debit", [this](const worker::Command& c) { return debit(c); });
  dispatcher.on("points.refund", [this](const worker::Command& c) { return refund(c); });
}

worker::Result PointsService::reserve(const worker::Command& c) {
  auto user = text_field(c.payload, "user_id");
  auto amount = number_field(c.payload, "amount");
  if (amount <= 0) return worker::Result::business_failure("InvalidAmount");
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(user);
  if (account == accounts_.end()) return worker::Result::business_failure("UnknownUser");
  if (account->second.balance < amount) {
    return worker::Result::business_failure("InsufficientPoints",
                                            json::object{{"balance", account->second.balance}});
  }
  account->second.balance -= amount;
  account->second.reserved += amount;
  auto id = "res-" + std::to_string(next_id_++);
  reservations_[id] = Reservation{user, amount};
  record(c, "reserve", id, amount);
  return worker::Result::ok(json::object{{"reservation_id", id}});
}

// Releasing what was never reserved (the reserve failed or never arrived) is a success: the
// compensation's goal, nothing held, is reached.
worker::Result PointsService::release(const worker::Command& c) {
  std::lock_guard lock(mutex_);
  auto r = reservations_.find(text_field(c.payload, "reservation_id"));
  if (r == reservations_.end() || r->second.state != Hold::reserved) {
    return worker::Result::ok(json::object{{"released", false}});
  }
  auto& account = accounts_[r->second.user];
  account.reserved -= r->second.amount;
  account.balance += r->second.amount;
  r->second.state = Hold::released;
  record(c, "release", r->first, r->second.amount);
  return worker::Result::ok(json::object{{"released", true}});
}

worker::Result PointsService::debit(const worker::Command& c) {
  std::lock_guard lock(mutex_);
  auto r = reservations_.find(text_field(c.payload, "reservation_id"));
  if (r == reservations_.end()) return worker::Result::business_failure("UnknownReservation");
  if (r->second.state != Hold::reserved) return worker::Result::business_failure("NotReserved");
  auto& account = accounts_[r->second.user];
  account.reserved -= r->second.amount;
  account.spent += r->second.amount;
  r->second.state = Hold::debited;
  record(c, "debit", r->first, r->second.amount);
  return worker::Result::ok(json::object{{"debited", r->second.amount}});
}

worker::Result PointsService::refund(const worker::Command& c) {
  std::lock_guard lock(mutex_);
  auto r = reservations_.find(text_field(c.payload, "reservation_id"));
  if (r == reservations_.end() || r->second.state != Hold::debited) {
    return worker::Result::ok(json::object{{"refunded", false}});
  }
  auto& account = accounts_[r->second.user];
  account.balance += r->second.amount;
  account.refunded += r->second.amount;
  r->second.state = Hold::refunded;
  record(c, "refund", r->first, r->second.amount);
  return worker::Result::ok(json::object{{"refunded", true}});
}

void PointsService::record(const worker::Command& c, std::string kind,
                           const std::string& reservation, std::int64_t amount) {
  ledger_.push_back(Effect{c.message.idempotency_key, std::move(kind), reservation, amount});
}

PointsService::Account PointsService::account(const std::string& user) const {
  std::lock_guard lock(mutex_);
  auto it = accounts_.find(user);
  return it == accounts_.end() ? Account{} : it->second;
}

std::vector<PointsService::Effect> PointsService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool PointsService::conserved() const {
  std::lock_guard lock(mutex_);
  for (const auto& [user, a] : accounts_) {
    if (a.balance + a.reserved + a.spent != a.initial + a.refunded) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
