#include "sagaflow/sagas/users.hpp"

namespace sagaflow::sagas {

void UsersService::add_user(const std::string& user_id, const std::string& username,
                            const std::string& email) {
  std::lock_guard lock(mutex_);
  users_[user_id] = User{.username = username, .email = email};
}

void UsersService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace users;
  worker::on<Create, Created>(dispatcher, "users.create",
                              [this](const Create& c, const Message& m) { return create(c, m); });
  worker::on<UserRef, Undone>(dispatcher, "users.delete",
                              [this](const UserRef& r, const Message& m) { return remove(r, m); });
  worker::on<CouponAssignment, Assigned>(
      dispatcher, "users.assign_coupon",
      [this](const CouponAssignment& a, const Message& m) { return assign(a, m); });
  worker::on<CouponAssignment, Undone>(
      dispatcher, "users.unassign_coupon",
      [this](const CouponAssignment& a, const Message& m) { return unassign(a, m); });
}

bool UsersService::taken(const std::string& field, const std::string& value) const {
  for (const auto& [id, user] : users_) {
    if (user.deleted) continue;
    if ((field == "email" ? user.email : user.username) == value) return true;
  }
  return false;
}

worker::Outcome<users::Created> UsersService::create(const users::Create& c, const Message& m) {
  using Outcome = worker::Outcome<users::Created>;
  if (c.user_id.empty() || c.username.empty()) return Outcome::business_failure("InvalidUser");
  if (c.email.find('@') == std::string::npos) return Outcome::business_failure("InvalidEmail");
  std::lock_guard lock(mutex_);
  auto existing = users_.find(c.user_id);
  if (existing != users_.end() && !existing->second.deleted) {
    return Outcome::business_failure("UserExists");
  }
  if (taken("email", c.email)) return Outcome::business_failure("EmailTaken");
  if (taken("username", c.username)) return Outcome::business_failure("UsernameTaken");
  users_[c.user_id] = User{.username = c.username, .email = c.email};
  ledger_.push_back(Effect{m.idempotency_key, "create", c.user_id, 0});
  return users::Created{c.user_id, "active"};
}

// Deleting a user that does not exist (its creation failed or never arrived) succeeds with
// done=false. A deleted user loses its coupons and frees its email and username.
worker::Outcome<users::Undone> UsersService::remove(const users::UserRef& r, const Message& m) {
  std::lock_guard lock(mutex_);
  auto user = users_.find(r.user_id);
  if (user == users_.end() || user->second.deleted) return users::Undone{false};
  user->second.deleted = true;
  user->second.coupons.clear();
  ledger_.push_back(Effect{m.idempotency_key, "delete", r.user_id, 0});
  return users::Undone{true};
}

worker::Outcome<users::Assigned> UsersService::assign(const users::CouponAssignment& a,
                                                      const Message& m) {
  using Outcome = worker::Outcome<users::Assigned>;
  if (a.coupon_id.empty()) return Outcome::business_failure("InvalidCoupon");
  std::lock_guard lock(mutex_);
  auto user = users_.find(a.user_id);
  if (user == users_.end() || user->second.deleted) return Outcome::business_failure("UnknownUser");
  // A second assignment of the same coupon is refused: its compensation would otherwise take
  // away the assignment made before.
  if (!user->second.coupons.insert(a.coupon_id).second) {
    return Outcome::business_failure("AlreadyAssigned");
  }
  ledger_.push_back(Effect{m.idempotency_key, "assign_coupon", a.user_id + "/" + a.coupon_id, 0});
  return users::Assigned{a.user_id, a.coupon_id,
                         static_cast<std::int64_t>(user->second.coupons.size())};
}

worker::Outcome<users::Undone> UsersService::unassign(const users::CouponAssignment& a,
                                                      const Message& m) {
  std::lock_guard lock(mutex_);
  auto user = users_.find(a.user_id);
  if (user == users_.end() || user->second.coupons.erase(a.coupon_id) == 0) {
    return users::Undone{false};
  }
  ledger_.push_back(Effect{m.idempotency_key, "unassign_coupon", a.user_id + "/" + a.coupon_id, 0});
  return users::Undone{true};
}

bool UsersService::exists(const std::string& user_id) const {
  std::lock_guard lock(mutex_);
  auto user = users_.find(user_id);
  return user != users_.end() && !user->second.deleted;
}

std::map<std::string, UsersService::User> UsersService::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

std::set<std::string> UsersService::coupons_of(const std::string& user_id) const {
  std::lock_guard lock(mutex_);
  auto user = users_.find(user_id);
  return user == users_.end() ? std::set<std::string>{} : user->second.coupons;
}

std::vector<Effect> UsersService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool UsersService::consistent() const {
  std::lock_guard lock(mutex_);
  std::set<std::string> emails;
  std::set<std::string> usernames;
  for (const auto& [id, user] : users_) {
    if (user.deleted) {
      if (!user.coupons.empty()) return false;
      continue;
    }
    if (!emails.insert(user.email).second || !usernames.insert(user.username).second) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
