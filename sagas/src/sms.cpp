#include "sagaflow/sagas/sms.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

namespace sagaflow::sagas {

namespace {

bool valid_phone(const std::string& phone) {
  if (phone.size() < 11 || phone.size() > 16 || phone.front() != '+') return false;
  return std::all_of(phone.begin() + 1, phone.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

void SmsService::register_handlers(worker::Dispatcher& dispatcher) {
  worker::on<sms::SendCvc, sms::Sent>(
      dispatcher, "sms.send_cvc",
      [this](const sms::SendCvc& s, const Message& m) { return send_cvc(s, m); });
}

void SmsService::set_unavailable(bool unavailable) {
  std::lock_guard lock(mutex_);
  unavailable_ = unavailable;
}

void SmsService::set_cvc_source(CvcSource source) {
  std::lock_guard lock(mutex_);
  cvc_source_ = std::move(source);
}

worker::Outcome<sms::Sent> SmsService::send_cvc(const sms::SendCvc& s, const Message& m) {
  using Outcome = worker::Outcome<sms::Sent>;
  const auto line = s.order_id + "/" + s.order_line_id;
  CvcSource source;
  {
    std::lock_guard lock(mutex_);
    if (unavailable_) return Outcome::technical_error("SmsGatewayUnavailable");
    if (!valid_phone(s.phone)) return Outcome::business_failure("InvalidPhoneNumber");
    if (s.code.empty()) return Outcome::business_failure("MissingCertificate");
    // The same certificate's CVC asked for again (another key) is the message already sent.
    if (auto sent = by_line_.find(line); sent != by_line_.end()) return sms::Sent{sent->second};
    source = cvc_source_;
  }
  // The claim check: the CVC is read from its owner now, outside the lock (another service).
  const auto cvc = source ? source(s.code) : std::string{};
  if (cvc.empty()) return Outcome::business_failure("CvcUnavailable");
  std::lock_guard lock(mutex_);
  if (auto sent = by_line_.find(line); sent != by_line_.end()) return sms::Sent{sent->second};
  auto id = "sms-" + std::to_string(next_id_++);
  by_line_[line] = id;
  messages_.push_back(SentMessage{m.idempotency_key, id, s.order_id, s.order_line_id, s.code,
                                  s.phone, "Gift certificate " + s.code + ": CVC " + cvc});
  return sms::Sent{id};
}

std::vector<SmsService::SentMessage> SmsService::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

bool SmsService::each_line_sent_at_most_once() const {
  std::lock_guard lock(mutex_);
  std::set<std::string> seen;
  for (const auto& message : messages_) {
    if (!seen.insert(message.order_id + "/" + message.order_line_id).second) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
