#include "sagaflow/sagas/notifications.hpp"

namespace sagaflow::sagas {

namespace {

std::string subject_of(const std::string& template_name, const std::string& ref) {
  if (template_name == "paid") return "Your order " + ref + " is paid";
  if (template_name == "not_paid") return "Your order " + ref + " could not be paid";
  if (template_name == "cancelled") return "Your order " + ref + " is cancelled";
  if (template_name == "coupon_issued") return "A coupon for you: " + ref;
  return "Welcome to Sagaflow";
}

bool plausible_address(const std::string& email) {
  auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size();
}

}  // namespace

const std::set<std::string>& NotificationsService::templates() {
  static const std::set<std::string> known{"paid", "not_paid", "cancelled", "welcome",
                                           "coupon_issued"};
  return known;
}

void NotificationsService::save_contact(const std::string& user_id, const std::string& email,
                                        const std::string& name) {
  std::lock_guard lock(mutex_);
  contacts_[user_id] = Contact{email, name};
}

void NotificationsService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace notifications;
  worker::on<SaveUser, Saved>(
      dispatcher, "notifications.save_user",
      [this](const SaveUser& s, const Message& m) { return save_user(s, m); });
  worker::on<UserRef, Undone>(
      dispatcher, "notifications.forget_user",
      [this](const UserRef& r, const Message& m) { return forget_user(r, m); });
  worker::on<SendEmail, Sent>(
      dispatcher, "notifications.send_email",
      [this](const SendEmail& s, const Message& m) { return send_email(s, m); });
  worker::on<CouponIssued, Notified>(
      dispatcher, "notifications.coupon_issued",
      [this](const CouponIssued& c, const Message& m) { return coupon_issued(c, m); });
}

worker::Outcome<notifications::Saved> NotificationsService::save_user(
    const notifications::SaveUser& s, const Message& m) {
  using Outcome = worker::Outcome<notifications::Saved>;
  if (s.user_id.empty()) return Outcome::business_failure("InvalidUser");
  if (!plausible_address(s.email)) return Outcome::business_failure("MissingAddress");
  std::lock_guard lock(mutex_);
  contacts_[s.user_id] = Contact{s.email, s.name};
  ledger_.push_back(Effect{m.idempotency_key, "save_user", s.user_id, 0});
  return notifications::Saved{s.user_id};
}

worker::Outcome<notifications::Undone> NotificationsService::forget_user(
    const notifications::UserRef& r, const Message& m) {
  std::lock_guard lock(mutex_);
  if (contacts_.erase(r.user_id) == 0) return notifications::Undone{false};
  ledger_.push_back(Effect{m.idempotency_key, "forget_user", r.user_id, 0});
  return notifications::Undone{true};
}

const NotificationsService::Email& NotificationsService::send(const Message& m,
                                                              const std::string& user,
                                                              const std::string& template_name,
                                                              const std::string& ref) {
  outbox_.push_back(Email{.email_id = "mail-" + std::to_string(next_id_++),
                          .command_id = m.idempotency_key,
                          .user_id = user,
                          .to = contacts_.at(user).email,
                          .template_name = template_name,
                          .subject = subject_of(template_name, ref),
                          .ref = ref});
  return outbox_.back();
}

worker::Outcome<notifications::Sent> NotificationsService::send_email(
    const notifications::SendEmail& s, const Message& m) {
  using Outcome = worker::Outcome<notifications::Sent>;
  if (!templates().contains(s.template_name)) return Outcome::business_failure("UnknownTemplate");
  std::lock_guard lock(mutex_);
  auto contact = contacts_.find(s.user_id);
  if (contact == contacts_.end() || !plausible_address(contact->second.email)) {
    return Outcome::business_failure("MissingAddress");
  }
  const auto& email = send(m, s.user_id, s.template_name, s.order_id);
  ledger_.push_back(Effect{m.idempotency_key, "email:" + s.template_name, s.order_id, 1});
  return notifications::Sent{email.email_id, email.to};
}

// Every user must have an address: a coupon announced to only some of its holders is refused
// as a whole, before anything is sent.
worker::Outcome<notifications::Notified> NotificationsService::coupon_issued(
    const notifications::CouponIssued& c, const Message& m) {
  using Outcome = worker::Outcome<notifications::Notified>;
  if (c.coupon_id.empty()) return Outcome::business_failure("InvalidCoupon");
  std::lock_guard lock(mutex_);
  for (const auto& user : c.user_ids) {
    if (!contacts_.contains(user)) return Outcome::business_failure("MissingAddress");
  }
  for (const auto& user : c.user_ids) send(m, user, "coupon_issued", c.coupon_id);
  auto sent = static_cast<std::int64_t>(c.user_ids.size());
  ledger_.push_back(Effect{m.idempotency_key, "email:coupon_issued", c.coupon_id, sent});
  return notifications::Notified{sent};
}

bool NotificationsService::knows(const std::string& user_id) const {
  std::lock_guard lock(mutex_);
  return contacts_.contains(user_id);
}

std::vector<NotificationsService::Email> NotificationsService::outbox() const {
  std::lock_guard lock(mutex_);
  return outbox_;
}

std::vector<std::string> NotificationsService::templates_sent_for(const std::string& ref) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& email : outbox_) {
    if (email.ref == ref) out.push_back(email.template_name);
  }
  return out;
}

std::vector<Effect> NotificationsService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

}  // namespace sagaflow::sagas
