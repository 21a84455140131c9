#pragma once
// The users service's commands and replies (seeds 001 and 004), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::users {

// users.create: a new user; the email and the username must be free.
struct Create {
  std::string user_id;
  std::string username;
  std::string email;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(username), CEREAL_NVP(email));
  }
};
struct Created {
  std::string user_id;
  std::string status;  // active
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(status));
  }
};

// users.delete: the compensation of users.create.
struct UserRef {
  std::string user_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id));
  }
};

// users.assign_coupon and users.unassign_coupon.
struct CouponAssignment {
  std::string user_id;
  std::string coupon_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(coupon_id));
  }
};
struct Assigned {
  std::string user_id;
  std::string coupon_id;
  std::int64_t coupons = 0;  // how many coupons the user now holds
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(coupon_id), CEREAL_NVP(coupons));
  }
};

// The reply of delete and unassign_coupon: whether anything was undone.
struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

}  // namespace sagaflow::sagas::users
