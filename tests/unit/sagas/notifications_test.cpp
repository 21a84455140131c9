// The notifications participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/notifications.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;
using Strings = std::vector<std::string>;

namespace {

struct Notifications {
  Notifications() {
    service.save_contact("ann", "ann@example.com", "Ann");
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message email(const std::string& user, const std::string& template_name, const std::string& key) {
    return send("notifications.send_email",
                json::object{{"user_id", user}, {"template", template_name}, {"order_id", "o1"}},
                key);
  }
  sagas::NotificationsService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("notifications: send_email puts one email in the outbox per idempotency key") {
  Notifications n;
  auto sent = n.email("ann", "paid", "s1/email_paid/do");
  REQUIRE(sent.outcome == ReplyOutcome::success);
  CHECK(body_of(sent).at("to") == "ann@example.com");
  n.email("ann", "paid", "s1/email_paid/do");  // a redelivery
  auto outbox = n.service.outbox();
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].template_name == "paid");
  CHECK(outbox[0].subject == "Your order o1 is paid");
  CHECK(n.service.templates_sent_for("o1") == Strings{"paid"});
}

TEST_CASE("notifications: an unknown template or a user without address is refused") {
  Notifications n;
  auto unknown = n.email("ann", "spam", "k1");
  CHECK(unknown.outcome == ReplyOutcome::business_failure);
  CHECK(unknown.error_code == "UnknownTemplate");
  CHECK(n.email("zed", "paid", "k2").error_code == "MissingAddress");
  CHECK(n.service.outbox().empty());
}

TEST_CASE("notifications: save_user keeps the contact, forget_user undoes it once") {
  Notifications n;
  auto bad = n.send("notifications.save_user",
                    json::object{{"user_id", "bob"}, {"email", "bob"}, {"name", "Bob"}}, "k0");
  CHECK(bad.error_code == "MissingAddress");
  auto saved =
      n.send("notifications.save_user",
             json::object{{"user_id", "bob"}, {"email", "bob@example.com"}, {"name", "Bob"}}, "k1");
  CHECK(saved.outcome == ReplyOutcome::success);
  CHECK(n.service.knows("bob"));
  CHECK(n.email("bob", "welcome", "k2").outcome == ReplyOutcome::success);
  auto forget = json::object{{"user_id", "bob"}};
  CHECK(body_of(n.send("notifications.forget_user", forget, "k3")).at("done") == true);
  CHECK(body_of(n.send("notifications.forget_user", forget, "k4")).at("done") == false);
  CHECK_FALSE(n.service.knows("bob"));
}

TEST_CASE("notifications: coupon_issued mails every holder, or nobody if one has no address") {
  Notifications n;
  n.service.save_contact("bob", "bob@example.com");
  auto missing =
      n.send("notifications.coupon_issued",
             json::object{{"coupon_id", "c1"}, {"user_ids", json::array{"ann", "zed"}}}, "k1");
  CHECK(missing.error_code == "MissingAddress");
  CHECK(n.service.outbox().empty());
  auto sent =
      n.send("notifications.coupon_issued",
             json::object{{"coupon_id", "c1"}, {"user_ids", json::array{"ann", "bob"}}}, "k2");
  CHECK(body_of(sent).at("sent") == 2);
  CHECK(n.service.templates_sent_for("c1") == Strings{"coupon_issued", "coupon_issued"});
}
