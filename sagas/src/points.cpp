#include "sagaflow/sagas/points.hpp"

namespace sagaflow::sagas {

void PointsService::open_account(const std::string& user, std::int64_t balance) {
  std::lock_guard lock(mutex_);
  auto& account = accounts_[user];
  const bool frozen = account.frozen;
  account = Account{.initial = balance, .balance = balance, .frozen = frozen};
}

void PointsService::freeze(const std::string& user) {
  std::lock_guard lock(mutex_);
  accounts_[user].frozen = true;
}

void PointsService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace points;
  worker::on<Reserve, Reserved>(
      dispatcher, "points.reserve",
      [this](const Reserve& r, const Message& m) { return reserve(r, m); });
  worker::on<ReleaseByOrder, Undone>(
      dispatcher, "points.release",
      [this](const ReleaseByOrder& r, const Message& m) { return release(r, m); });
  worker::on<ReservationRef, Debited>(
      dispatcher, "points.debit",
      [this](const ReservationRef& r, const Message& m) { return debit(r, m); });
  worker::on<ReservationRef, Undone>(
      dispatcher, "points.refund",
      [this](const ReservationRef& r, const Message& m) { return refund(r, m); });
  worker::on<Add, Added>(dispatcher, "points.add",
                         [this](const Add& a, const Message& m) { return add(a, m); });
  worker::on<CreditRef, Undone>(
      dispatcher, "points.revoke",
      [this](const CreditRef& r, const Message& m) { return revoke(r, m); });
}

worker::Outcome<points::Added> PointsService::add(const points::Add& a, const Message& m) {
  using Outcome = worker::Outcome<points::Added>;
  if (a.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (a.reference.empty()) return Outcome::business_failure("MissingReference");
  std::lock_guard lock(mutex_);
  auto account = accounts_.find(a.user_id);
  if (account == accounts_.end()) return Outcome::business_failure("UnknownUser");
  if (account->second.frozen) return Outcome::business_failure("AccountFrozen");
  // The same reference credited again (a resend under another key) is the same credit.
  if (auto known = credits_.find(a.reference); known != credits_.end()) {
    if (known->second.user != a.user_id || known->second.amount != a.amount) {
      return Outcome::business_failure("ReferenceReused");
    }
    return points::Added{known->second.credit_id, account->second.balance};
  }
  account->second.balance += a.amount;
  account->second.added += a.amount;
  auto id = "credit-" + std::to_string(next_id_++);
  credits_[a.reference] = Credit{id, a.user_id, a.amount};
  record(m, "add", id, a.amount);
  return points::Added{id, account->second.balance};
}

// Revoking a credit that never happened (or was revoked already) succeeds with done=false.
// Points already spent cannot be taken back: that is refused (the saga parks for an operator).
worker::Outcome<points::Undone> PointsService::revoke(const points::CreditRef& r,
                                                      const Message& m) {
  std::lock_guard lock(mutex_);
  auto found = credits_.find(r.reference);
  if (found == credits_.end() || found->second.revoked) return points::Undone{false};
  auto& account = accounts_[found->second.user];
  if (account.balance < found->second.amount) {
    return worker::Outcome<points::Undone>::business_failure("PointsAlreadySpent");
  }
  account.balance -= found->second.amount;
  account.revoked += found->second.amount;
  found->second.revoked = true;
  record(m, "revoke", found->second.credit_id, found->second.amount);
  return points::Undone{true};
}

worker::Outcome<points::Reserved> PointsService::reserve(const points::Reserve& r,
                                                         const Message& m) {
  using Outcome = worker::Outcome<points::Reserved>;
  if (r.amount <= 0) return Outcome::business_failure("InvalidAmount");
  if (r.order_id.empty()) return Outcome::business_failure("MissingReference");
  std::lock_guard lock(mutex_);
  // Released before it arrived (its saga gave up on it): it must not hold points.
  if (released_unheld_.contains(r.order_id)) return Outcome::business_failure("HoldReleased");
  // The same order reserved again (a resend under another key) is the same hold.
  if (auto known = holds_.find(r.order_id); known != holds_.end()) {
    const auto& hold = reservations_.at(known->second);
    if (hold.user != r.user_id || hold.amount != r.amount) {
      return Outcome::business_failure("ReferenceReused");
    }
    if (hold.state == Hold::released) return Outcome::business_failure("HoldReleased");
    return points::Reserved{known->second};
  }
  auto account = accounts_.find(r.user_id);
  if (account == accounts_.end()) return Outcome::business_failure("UnknownUser");
  if (account->second.balance < r.amount) return Outcome::business_failure("InsufficientPoints");
  account->second.balance -= r.amount;
  account->second.reserved += r.amount;
  auto id = "res-" + std::to_string(next_id_++);
  reservations_[id] = Reservation{r.user_id, r.amount};
  holds_[r.order_id] = id;
  record(m, "reserve", id, r.amount);
  return points::Reserved{id};
}

// Releasing when no hold was made for the order (the reserve failed, was lost, or is still on
// its way) or when the hold is no longer reserved (released, or debited: refund undoes a debit)
// succeeds with done=false: the compensation's goal, nothing held, is reached. The first case
// also closes the order, so that a reserve arriving later holds nothing.
worker::Outcome<points::Undone> PointsService::release(const points::ReleaseByOrder& r,
                                                       const Message& m) {
  std::lock_guard lock(mutex_);
  auto known = holds_.find(r.order_id);
  if (known == holds_.end()) {
    if (!r.order_id.empty()) released_unheld_.insert(r.order_id);
    return points::Undone{false};
  }
  auto& hold = reservations_.at(known->second);
  if (hold.state != Hold::reserved) return points::Undone{false};
  auto& account = accounts_[hold.user];
  account.reserved -= hold.amount;
  account.balance += hold.amount;
  hold.state = Hold::released;
  record(m, "release", known->second, hold.amount);
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
    if (a.balance + a.reserved + a.spent + a.revoked != a.initial + a.refunded + a.added) {
      return false;
    }
  }
  return true;
}

}  // namespace sagaflow::sagas
