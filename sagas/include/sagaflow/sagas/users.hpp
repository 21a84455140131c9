#pragma once
// The user service of seeds 001 and 004: users with a unique username and email, and the coupons
// assigned to them. Every applied effect is written to a ledger keyed by the command's
// idempotency key; the worker's dispatcher answers a repeated key from its record.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/users.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class UsersService {
 public:
  struct User {
    std::string username;
    std::string email;
    bool deleted = false;
    std::set<std::string> coupons;
  };

  // A user that exists before any saga (tests, the demo).
  void add_user(const std::string& user_id, const std::string& username, const std::string& email);
  // Registers users.create, users.delete, users.assign_coupon and users.unassign_coupon.
  void register_handlers(worker::Dispatcher& dispatcher);

  bool exists(const std::string& user_id) const;  // created and not deleted
  std::map<std::string, User> users() const;      // deleted ones included, flagged
  std::set<std::string> coupons_of(const std::string& user_id) const;
  std::vector<Effect> ledger() const;
  // No two live users share a username or an email; deleted users hold no coupons.
  bool consistent() const;

 private:
  worker::Outcome<users::Created> create(const users::Create& c, const Message& m);
  worker::Outcome<users::Undone> remove(const users::UserRef& r, const Message& m);
  worker::Outcome<users::Assigned> assign(const users::CouponAssignment& a, const Message& m);
  worker::Outcome<users::Undone> unassign(const users::CouponAssignment& a, const Message& m);
  bool taken(const std::string& field, const std::string& value) const;  // under mutex_

  mutable std::mutex mutex_;
  std::map<std::string, User> users_;
  std::vector<Effect> ledger_;
};

}  // namespace sagaflow::sagas
