#pragma once
// The corporate SMS gateway of seed 002: sends each certificate's CVC to its recipient. An
// invalid phone number is a business failure; a gateway that is down answers a technical error
// (retried by the flow). Every message sent is kept with the command's idempotency key, and one
// certificate (order line) gets its CVC at most once.
//
// The CVC is a secret, so sms.send_cvc names only the certificate: the gateway reads its CVC at
// send time from an injected CvcSource (a claim check on the certificates service); without a
// source, or when it has no CVC for the code, the send is a business failure (CvcUnavailable).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/sms.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class SmsService {
 public:
  struct SentMessage {
    std::string command_id;
    std::string message_id;
    std::string order_id;
    std::string order_line_id;
    std::string code;
    std::string phone;
    std::string text;
  };

  // Where the CVC of a certificate code comes from (empty: none known).
  using CvcSource = std::function<std::string(const std::string& code)>;

  // Registers sms.send_cvc.
  void register_handlers(worker::Dispatcher& dispatcher);
  // Sets where send_cvc reads each certificate's CVC (e.g. CertificatesService::cvc).
  void set_cvc_source(CvcSource source);
  // While unavailable, every send answers the technical error SmsGatewayUnavailable.
  void set_unavailable(bool unavailable);

  // The ledger: every message sent, in order.
  std::vector<SentMessage> messages() const;
  // No order line got its CVC twice.
  bool each_line_sent_at_most_once() const;

 private:
  worker::Outcome<sms::Sent> send_cvc(const sms::SendCvc& s, const Message& m);

  mutable std::mutex mutex_;
  bool unavailable_ = false;
  CvcSource cvc_source_;
  std::vector<SentMessage> messages_;
  std::map<std::string, std::string> by_line_;  // order_id/order_line_id -> message id
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
