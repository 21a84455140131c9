// The users participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/users.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;

namespace {

struct Users {
  Users() {
    service.add_user("ann", "ann", "ann@example.com");
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message create(const std::string& id, const std::string& username, const std::string& email,
                 const std::string& key) {
    return send("users.create",
                json::object{{"user_id", id}, {"username", username}, {"email", email}}, key);
  }
  Message assign(const std::string& user, const std::string& coupon, const std::string& key) {
    return send("users.assign_coupon", json::object{{"user_id", user}, {"coupon_id", coupon}}, key);
  }
  sagas::UsersService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("users: create makes an active user once per idempotency key") {
  Users u;
  auto first = u.create("bob", "bob", "bob@example.com", "s1/create_user/do");
  auto again = u.create("bob", "bob", "bob@example.com", "s1/create_user/do");
  CHECK(first.outcome == ReplyOutcome::success);
  CHECK(again.outcome == ReplyOutcome::success);
  CHECK(body_of(again).at("status") == "active");
  CHECK(u.service.exists("bob"));
  CHECK(u.service.ledger().size() == 1);
}

TEST_CASE("users: a taken user id, email or username is refused as a business failure") {
  Users u;
  CHECK(u.create("ann", "ann2", "ann2@example.com", "k1").error_code == "UserExists");
  auto email = u.create("bob", "bob", "ann@example.com", "k2");
  CHECK(email.outcome == ReplyOutcome::business_failure);
  CHECK(email.error_code == "EmailTaken");
  CHECK(u.create("bob", "ann", "bob@example.com", "k3").error_code == "UsernameTaken");
  CHECK(u.create("bob", "bob", "not-an-address", "k4").error_code == "InvalidEmail");
  CHECK_FALSE(u.service.exists("bob"));
  CHECK(u.service.ledger().empty());
  CHECK(u.service.consistent());
}

TEST_CASE("users: delete frees the email and username, deleting nobody changes nothing") {
  Users u;
  auto nobody = u.send("users.delete", json::object{{"user_id", "zed"}}, "k1");
  CHECK(nobody.outcome == ReplyOutcome::success);
  CHECK(body_of(nobody).at("done") == false);
  CHECK(u.service.ledger().empty());
  u.assign("ann", "c1", "k2");
  auto deleted = u.send("users.delete", json::object{{"user_id", "ann"}}, "k3");
  CHECK(body_of(deleted).at("done") == true);
  CHECK_FALSE(u.service.exists("ann"));
  CHECK(u.service.coupons_of("ann").empty());
  CHECK(u.create("ann", "ann", "ann@example.com", "k4").outcome == ReplyOutcome::success);
  CHECK(u.service.consistent());
}

TEST_CASE("users: assign_coupon to an unknown user is UnknownUser, twice is AlreadyAssigned") {
  Users u;
  auto unknown = u.assign("zed", "c1", "k1");
  CHECK(unknown.outcome == ReplyOutcome::business_failure);
  CHECK(unknown.error_code == "UnknownUser");
  auto ok = u.assign("ann", "c1", "k2");
  CHECK(ok.outcome == ReplyOutcome::success);
  CHECK(body_of(ok).at("coupons") == 1);
  CHECK(u.assign("ann", "c1", "k2").outcome == ReplyOutcome::success);  // a redelivery
  CHECK(u.assign("ann", "c1", "k3").error_code == "AlreadyAssigned");   // another command
  CHECK(u.service.coupons_of("ann") == std::set<std::string>{"c1"});
  CHECK(u.service.ledger().size() == 1);
}

TEST_CASE("users: unassign_coupon takes back an assignment, and only once") {
  Users u;
  u.assign("ann", "c1", "k1");
  auto ref = json::object{{"user_id", "ann"}, {"coupon_id", "c1"}};
  CHECK(body_of(u.send("users.unassign_coupon", ref, "k2")).at("done") == true);
  CHECK(body_of(u.send("users.unassign_coupon", ref, "k3")).at("done") == false);
  auto never = json::object{{"user_id", "zed"}, {"coupon_id", "c1"}};
  CHECK(body_of(u.send("users.unassign_coupon", never, "k4")).at("done") == false);
  CHECK(u.service.coupons_of("ann").empty());
  CHECK(u.service.ledger().size() == 2);
}
