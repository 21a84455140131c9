#pragma once
// The coupon service of seed 004: single-use coupons, a fixed amount or a percentage off an
// order. Invariant: every coupon is used by at most one order at a time, and is never applied
// twice without a release in between (see used_at_most_once()).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/coupons.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class CouponsService {
 public:
  enum class Status { active, used, expired, deleted };
  struct Coupon {
    std::int64_t discount = 0;  // a fixed amount, when percent == 0
    std::int64_t percent = 0;   // 1..100: a percentage of the total
    Status status = Status::active;
    std::string used_by;  // the order, while used
  };

  static const char* to_string(Status status);

  // A coupon that exists before any saga (tests, the demo).
  void add_coupon(const std::string& coupon_id, std::int64_t discount, std::int64_t percent = 0);
  // The coupon expires: apply answers CouponExpired. False when unknown.
  bool expire(const std::string& coupon_id);
  // Registers coupons.create, coupons.delete, coupons.apply and coupons.release.
  void register_handlers(worker::Dispatcher& dispatcher);

  std::map<std::string, Coupon> coupons() const;
  Coupon coupon(const std::string& coupon_id) const;  // a deleted-looking Coupon when unknown
  std::vector<Effect> ledger() const;
  // Replaying the ledger, every coupon alternates apply, release, apply...: never applied twice
  // without a release, and a coupon is `used` exactly when its last effect is an apply.
  bool used_at_most_once() const;

 private:
  worker::Outcome<coupons::CouponState> create(const coupons::Create& c, const Message& m);
  worker::Outcome<coupons::Undone> remove(const coupons::CouponRef& r, const Message& m);
  worker::Outcome<coupons::Applied> apply(const coupons::Apply& a, const Message& m);
  worker::Outcome<coupons::Undone> release(const coupons::Release& r, const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Coupon> coupons_;
  std::vector<Effect> ledger_;
};

}  // namespace sagaflow::sagas
