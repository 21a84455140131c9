#pragma once
// The coupon service's commands and replies (seed 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::coupons {

// coupons.create: a single-use coupon worth `discount` (a fixed amount) or `percent` of the
// order's total (when percent > 0).
struct Create {
  std::string coupon_id;
  std::int64_t discount = 0;
  std::int64_t percent = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(discount), CEREAL_NVP(percent));
  }
};
struct CouponState {
  std::string coupon_id;
  std::string status;  // active, used, expired, deleted
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(status));
  }
};

// coupons.delete: the compensation of create.
struct CouponRef {
  std::string coupon_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id));
  }
};

// coupons.apply: use the coupon for an order of `total`.
struct Apply {
  std::string coupon_id;
  std::string order_id;
  std::int64_t total = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(order_id), CEREAL_NVP(total));
  }
};
struct Applied {
  std::string coupon_id;
  std::int64_t discount = 0;          // never more than the total
  std::int64_t amount_to_charge = 0;  // total - discount
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(discount), CEREAL_NVP(amount_to_charge));
  }
};

// coupons.release: the compensation of apply; the coupon can be used again.
struct Release {
  std::string coupon_id;
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(order_id));
  }
};

struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

}  // namespace sagaflow::sagas::coupons
