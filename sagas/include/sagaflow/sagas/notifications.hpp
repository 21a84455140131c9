#pragma once
// The notification service of seeds 001 and 004: the users' contacts (saved at registration)
// and an outbox of every email sent from a known template.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/notifications.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class NotificationsService {
 public:
  struct Contact {
    std::string email;
    std::string name;
  };
  struct Email {
    std::string email_id;
    std::string command_id;  // the idempotency key of the command that sent it
    std::string user_id;
    std::string to;
    std::string template_name;  // paid, not_paid, cancelled, welcome, coupon_issued
    std::string subject;
    std::string ref;  // the order or coupon it is about
  };

  // The templates send_email knows.
  static const std::set<std::string>& templates();

  // A contact saved before any saga (tests, the demo).
  void save_contact(const std::string& user_id, const std::string& email,
                    const std::string& name = {});
  // Registers notifications.save_user, notifications.forget_user, notifications.send_email and
  // notifications.coupon_issued.
  void register_handlers(worker::Dispatcher& dispatcher);

  bool knows(const std::string& user_id) const;
  std::vector<Email> outbox() const;
  // The templates of the emails sent about `ref` (an order or coupon id), in order.
  std::vector<std::string> templates_sent_for(const std::string& ref) const;
  std::vector<Effect> ledger() const;

 private:
  worker::Outcome<notifications::Saved> save_user(const notifications::SaveUser& s,
                                                  const Message& m);
  worker::Outcome<notifications::Undone> forget_user(const notifications::UserRef& r,
                                                     const Message& m);
  worker::Outcome<notifications::Sent> send_email(const notifications::SendEmail& s,
                                                  const Message& m);
  worker::Outcome<notifications::Notified> coupon_issued(const notifications::CouponIssued& c,
                                                         const Message& m);
  // Under mutex_: appends an email to the outbox and returns it (the caller writes the ledger).
  const Email& send(const Message& m, const std::string& user, const std::string& template_name,
                    const std::string& ref);

  mutable std::mutex mutex_;
  std::map<std::string, Contact> contacts_;
  std::vector<Email> outbox_;
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
