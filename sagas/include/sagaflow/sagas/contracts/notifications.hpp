#pragma once
// The notification service's commands and replies (seeds 001 and 004), as they travel in JSON.
#include <cstdint>
#include <string>
#include <vector>

#include <cereal/cereal.hpp>
#include <cereal/types/vector.hpp>

namespace sagaflow::sagas::notifications {

// notifications.save_user: keep the user's contact (user_registration);
// notifications.forget_user: its compensation.
struct SaveUser {
  std::string user_id;
  std::string email;
  std::string name;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), CEREAL_NVP(email), CEREAL_NVP(name));
  }
};
struct UserRef {
  std::string user_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id));
  }
};
struct Saved {
  std::string user_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id));
  }
};

// notifications.send_email: one email from a template (paid, not_paid, cancelled, welcome) to a
// saved user. In JSON the template's field is "template".
struct SendEmail {
  std::string user_id;
  std::string template_name;
  std::string order_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(user_id), cereal::make_nvp("template", template_name), CEREAL_NVP(order_id));
  }
};
struct Sent {
  std::string email_id;
  std::string to;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(email_id), CEREAL_NVP(to));
  }
};

// notifications.coupon_issued: tell every user a coupon was issued to them.
struct CouponIssued {
  std::string coupon_id;
  std::vector<std::string> user_ids;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(coupon_id), CEREAL_NVP(user_ids));
  }
};
struct Notified {
  std::int64_t sent = 0;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(sent));
  }
};

struct Undone {
  bool done = false;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(done));
  }
};

}  // namespace sagaflow::sagas::notifications
