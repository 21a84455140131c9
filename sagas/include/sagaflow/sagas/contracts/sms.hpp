#pragma once
// The corporate SMS gateway's commands and replies (seed 002, step 8), as they travel in JSON.
#include <cstdint>
#include <string>

#include <cereal/cereal.hpp>

namespace sagaflow::sagas::sms {

// sms.send_cvc: send a certificate's CVC to its recipient. The command names the certificate,
// never its CVC (a secret that must not pass through the orchestrator or the bus): the gateway
// fetches it from the certificates service when it sends.
struct SendCvc {
  std::string order_id;
  std::string order_line_id;
  std::string code;
  std::string phone;  // E.164: '+' then 10 to 15 digits
  template <class Archive>
  void serialize(Archive& a) {
    a(CEREAL_NVP(order_id), CEREAL_NVP(order_line_id), CEREAL_NVP(code), CEREAL_NVP(phone));
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
