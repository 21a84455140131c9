#include "sagaflow/sagas/points.hpp"

namespace sagaflow::sagas {

void PointsService::open_account(const std::string& user, std::int64_t balance) {
  std::lock_guard lock(mutex_);
  accounts_[user] = Account{.initial = balance, .balance = balance};
}

void PointsService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace points;
  worker::on<Reserve, Reserved>(
      dispatcher, "points.reserve",
      [this](const Reserve& r, const Message& m) { return reserve(r, m); });
  worker::on<ReservationRef, Undone>(
      dispatcher, "points.release",
      [this](const ReservationRef& r, const Message& m) { return release(r, m); });
  worker::on<ReservationRef, Debited>(
      dispatcher, "points.debit",
      [this](const ReservationRef& r, const Message& m) { return debit(r, m); });
  worker::on<ReservationRef, Undone>(
      dispatcher, "points.refund",
      [this](const ReservationRef& r, const Message& m) { return refund(r, m); });
}

worker::Outcome<points::Reserved> PointsService::reserve(const points::Reserve& r,
                                                         const Message& m) {
  using Outcome = worker::Outcome<points::Reserved>;
  if (r.amount <= 0) return Outcome::business_failure("InvalidAmount");
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(r.user_id);
  if (account == accounts_.end()) return Outcome::business_failure("UnknownUser");
  if (account->second.balance < r.amount) return Outcome::business_failure("InsufficientPoints");
  account->second.balance -= r.amount;
  account->second.reserved += r.amount;
  auto id = "res-" + std::to_string(next_id_++);
  reservations_[id] = Reservation{r.user_id, r.amount};
  record(m, "reserve", id, r.amount);
  return points::Reserved{id};
}

// Releasing what was never reserved (the reserve failed or never arrived) is a success: the
// compensation's goal, nothing held, is reached.
worker::Outcome<points::Undone> PointsService::release(const points::ReservationRef& r,
                                                       const Message& m) {
  std::lock_guard lock(mutex_);
  auto found = reservations_.find(r.reservation_id);
  if (found == reservations_.end() || found->second.state != Hold::reserved) {
    return points::Undone{false};
  }
  auto& account = accounts_[found->second.user];
  account.reserved -= found->second.amount;
  account.balance += found->second.amount;
  found->second.state = Hold::released;
  record(m, "release", found->first, found->second.amount);
  return points::Undone{true};
}

worker::Outcome<points::Debited> PointsService::debit(const points::ReservationRef& r,
                                                      const Message& m) {
  using Outcome = worker::Outcome<points::Debited>;
  std::lock_guard lock(mutex_);
  auto found = reservations_.find(r.reservation_id);
  if (found == reservations_.end()) return Outcome::business_failure("UnknownReservation");
  if (found->second.state != Hold::reserved) return Outcome::business_failure("NotReserved");
  auto& account = accounts_[found->second.user];
  account.reserved -= found->second.amount;
  account.spent += found->second.amount;
  found->second.state = Hold::debited;
  record(m, "debit", found->first, found->second.amount);
  return points::Debited{found->second.amount};
}

worker::Outcome<points::Undone> PointsService::refund(const points::ReservationRef& r,
                                                      const Message& m) {
  std::lock_guard lock(mutex_);
  auto found = reservations_.find(r.reservation_id);
  if (found == reservations_.end() || found->second.state != Hold::debited) {
    return points::Undone{false};
  }
  auto& account = accounts_[found->second.user];
  account.balance += found->second.amount;
  account.refunded += found->second.amount;
  found->second.state = Hold::refunded;
  record(m, "refund", found->first, found->second.amount);
  return points::Undone{true};
}

void PointsService::record(const Message& m, std::string kind, const std::string& reservation,
                           std::int64_t amount) {
  ledger_.push_back(Effect{m.idempotency_key, std::move(kind), reservation, amount});
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
