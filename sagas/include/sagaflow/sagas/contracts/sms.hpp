#pragma once
// The corporate SMS gateway's commands and replies (seed 002, step 8), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::sms {

// sms.send_cvc: send a certificate's CVC to its recipient.
struct SendCvc {
  std::string order_id;
  std::string order_line_id;
  std::string code;
  std::string phone;  // E.164: '+' then 10 to 15 digits
  std::string cvc;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(order_line_id), CEREAL_NVP(code), CEREAL_NVP(phone),
      CEREAL_NVP(cvc));
  }
};
struct Sent {
  std::string message_id;
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(message_id));
  }
};

}  // namespace sagaflow::sagas::sms
