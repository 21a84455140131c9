#include "sagaflow/sagas/coupons.hpp"

#include <algorithm>

namespace sagaflow::sagas {

const char* CouponsService::to_string(Status status) {
  switch (status) {
    case Status::active:
      return "active";
    case Status::used:
      return "used";
    case Status::expired:
      return "expired";
    case Status::deleted:
      return "deleted";
  }
  return "unknown";
}

void CouponsService::add_coupon(const std::string& coupon_id, std::int64_t discount,
                                std::int64_t percent) {
  std::lock_guard lock(mutex_);
  coupons_[coupon_id] = Coupon{.discount = discount, .percent = percent};
}

bool CouponsService::expire(const std::string& coupon_id) {
  std::lock_guard lock(mutex_);
  auto coupon = coupons_.find(coupon_id);
  if (coupon == coupons_.end() || coupon->second.status == Status::deleted) return false;
  if (coupon->second.status == Status::active) coupon->second.status = Status::expired;
  return true;
}

void CouponsService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace coupons;
  worker::on<Create, CouponState>(
      dispatcher, "coupons.create",
      [this](const Create& c, const Message& m) { return create(c, m); });
  worker::on<CouponRef, Undone>(
      dispatcher, "coupons.delete",
      [this](const CouponRef& r, const Message& m) { return remove(r, m); });
  worker::on<Apply, Applied>(dispatcher, "coupons.apply",
                             [this](const Apply& a, const Message& m) { return apply(a, m); });
  worker::on<Release, Undone>(dispatcher, "coupons.release",
                              [this](const Release& r, const Message& m) { return release(r, m); });
}

worker::Outcome<coupons::CouponState> CouponsService::create(const coupons::Create& c,
                                                             const Message& m) {
  using Outcome = worker::Outcome<coupons::CouponState>;
  if (c.coupon_id.empty()) return Outcome::business_failure("InvalidCoupon");
  bool fixed = c.percent == 0 && c.discount > 0;
  bool relative = c.percent > 0 && c.percent <= 100 && c.discount == 0;
  if (!fixed && !relative) return Outcome::business_failure("InvalidDiscount");
  std::lock_guard lock(mutex_);
  if (coupons_.contains(c.coupon_id)) return Outcome::business_failure("CouponExists");
  coupons_[c.coupon_id] = Coupon{.discount = c.discount, .percent = c.percent};
  ledger_.push_back(Effect{m.idempotency_key, "create", c.coupon_id, c.discount});
  return coupons::CouponState{c.coupon_id, to_string(Status::active)};
}

// Deleting a coupon that was never created succeeds with done=false. A deleted coupon can no
// longer be applied; its id stays taken.
worker::Outcome<coupons::Undone> CouponsService::remove(const coupons::CouponRef& r,
                                                        const Message& m) {
  std::lock_guard lock(mutex_);
  auto coupon = coupons_.find(r.coupon_id);
  if (coupon == coupons_.end() || coupon->second.status == Status::deleted) {
    return coupons::Undone{false};
  }
  coupon->second.status = Status::deleted;
  ledger_.push_back(Effect{m.idempotency_key, "delete", r.coupon_id, 0});
  return coupons::Undone{true};
}

worker::Outcome<coupons::Applied> CouponsService::apply(const coupons::Apply& a, const Message& m) {
  using Outcome = worker::Outcome<coupons::Applied>;
  if (a.order_id.empty() || a.total < 0) return Outcome::business_failure("InvalidOrder");
  std::lock_guard lock(mutex_);
  auto found = coupons_.find(a.coupon_id);
  if (found == coupons_.end() || found->second.status == Status::deleted) {
    return Outcome::business_failure("UnknownCoupon");
  }
  auto& coupon = found->second;
  if (coupon.status == Status::expired) return Outcome::business_failure("CouponExpired");
  if (coupon.status == Status::used) return Outcome::business_failure("CouponAlreadyUsed");
  auto discount = coupon.percent > 0 ? a.total * coupon.percent / 100 : coupon.discount;
  discount = std::min(discount, a.total);
  coupon.status = Status::used;
  coupon.used_by = a.order_id;
  ledger_.push_back(Effect{m.idempotency_key, "apply", a.coupon_id, discount});
  return coupons::Applied{a.coupon_id, discount, a.total - discount};
}

// Releasing a coupon this order does not hold (the apply failed, never arrived, or was released)
// succeeds with done=false and leaves the coupon as it is.
worker::Outcome<coupons::Undone> CouponsService::release(const coupons::Release& r,
                                                         const Message& m) {
  std::lock_guard lock(mutex_);
  auto coupon = coupons_.find(r.coupon_id);
  if (coupon == coupons_.end() || coupon->second.status != Status::used ||
      coupon->second.used_by != r.order_id) {
    return coupons::Undone{false};
  }
  coupon->second.status = Status::active;
  coupon->second.used_by.clear();
  ledger_.push_back(Effect{m.idempotency_key, "release", r.coupon_id, 0});
  return coupons::Undone{true};
}

std::map<std::string, CouponsService::Coupon> CouponsService::coupons() const {
  std::lock_guard lock(mutex_);
  return coupons_;
}

CouponsService::Coupon CouponsService::coupon(const std::string& coupon_id) const {
  std::lock_guard lock(mutex_);
  auto coupon = coupons_.find(coupon_id);
  return coupon == coupons_.end() ? Coupon{.status = Status::deleted} : coupon->second;
}

std::vector<Effect> CouponsService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool CouponsService::used_at_most_once() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, bool> applied;
  for (const auto& e : ledger_) {
    if (e.kind == "apply") {
      if (applied[e.subject]) return false;
      applied[e.subject] = true;
    } else if (e.kind == "release") {
      if (!applied[e.subject]) return false;
      applied[e.subject] = false;
    }
  }
  for (const auto& [id, coupon] : coupons_) {
    if (applied[id] != (coupon.status == Status::used || !coupon.used_by.empty())) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
