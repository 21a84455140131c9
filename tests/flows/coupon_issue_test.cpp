// coupon_issue (seed 004 "issue coupon") end to end with the coupons, users and notifications
// participants: the coupon is created, assigned to each user (foreach) and announced; a failed
// assignment or announcement takes back the assignments made and deletes the coupon.
#include <doctest/doctest.h>

#include "commerce_world.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using CouponStatus = sagas::CouponsService::Status;

namespace {

struct CouponIssue : sagaflow::testing::CommerceWorld {
  CouponIssue() : CommerceWorld({"coupon_issue", "order_payment"}) {
    for (std::string user : {"ann", "bob", "cat"}) {
      users.add_user(user, user, user + "@example.com");
      notifications.save_contact(user, user + "@example.com");
      billing.open_account(user, 100);
    }
    inventory.add_stock("mug", 5);
  }
  std::string issue(const std::string& coupon, json::array users_to) {
    return world.start(
        "coupon_issue",
        json::object{{"coupon_id", coupon}, {"discount", 10}, {"user_ids", std::move(users_to)}});
  }
};

}  // namespace

TEST_CASE("coupon_issue: creates the coupon, assigns it to every user and tells them") {
  CouponIssue f;
  auto id = f.issue("SPRING", {"ann", "bob", "cat"});
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"coupons.create", "users.assign_coupon",
                                        "users.assign_coupon", "users.assign_coupon",
                                        "notifications.coupon_issued"});
  CHECK(f.world.events(id) == Strings{"CouponIssued"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.coupons.coupon("SPRING").status == CouponStatus::active);
  for (std::string user : {"ann", "bob", "cat"}) {
    CHECK(f.users.coupons_of(user) == std::set<std::string>{"SPRING"});
  }
  CHECK(f.notifications.templates_sent_for("SPRING") ==
        Strings{"coupon_issued", "coupon_issued", "coupon_issued"});
  CHECK(f.invariants_hold());
}

TEST_CASE("coupon_issue: an unknown user unassigns the others and deletes the coupon") {
  CouponIssue f;
  auto id = f.issue("SPRING", {"ann", "bob", "zed"});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) ==
        Strings{"users.unassign_coupon", "users.unassign_coupon", "coupons.delete"});
  CHECK(f.users.coupons_of("ann").empty());
  CHECK(f.users.coupons_of("bob").empty());
  CHECK(f.coupons.coupon("SPRING").status == CouponStatus::deleted);
  CHECK(f.notifications.outbox().empty());
  CHECK(f.invariants_hold());
}

TEST_CASE("coupon_issue: a user listed twice fails AlreadyAssigned and is unassigned once") {
  CouponIssue f;
  auto id = f.issue("SPRING", {"ann", "ann"});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"users.unassign_coupon", "coupons.delete"});
  CHECK(f.users.coupons_of("ann").empty());
  CHECK(f.coupons.coupon("SPRING").status == CouponStatus::deleted);
  CHECK(f.invariants_hold());
}

TEST_CASE("coupon_issue: a refused announcement unassigns every user and deletes the coupon") {
  CouponIssue f;
  f.users.add_user("dan", "dan", "dan@example.com");  // a user without a saved contact
  auto id = f.issue("SPRING", {"ann", "dan"});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) ==
        Strings{"users.unassign_coupon", "users.unassign_coupon", "coupons.delete"});
  CHECK(f.users.coupons_of("ann").empty());
  CHECK(f.users.coupons_of("dan").empty());
  CHECK(f.coupons.coupon("SPRING").status == CouponStatus::deleted);
  CHECK(f.notifications.outbox().empty());
  CHECK(f.invariants_hold());
}

TEST_CASE("coupon_issue: a coupon id already taken fails at once and leaves the coupon alone") {
  CouponIssue f;
  f.coupons.add_coupon("SPRING", 50);
  auto id = f.issue("SPRING", {"ann"});
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"coupons.create"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.coupons.coupon("SPRING").status == CouponStatus::active);
  CHECK(f.coupons.coupon("SPRING").discount == 50);
  CHECK(f.users.coupons_of("ann").empty());
}

TEST_CASE("coupon_issue: an assignment failing technically is retried and applied once") {
  CouponIssue f;
  f.world.fail_next("users.assign_coupon", 2);
  f.world.lose_reply_of_next("users.assign_coupon");
  auto id = f.issue("SPRING", {"ann", "bob"});
  f.world.advance(30s);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.users.coupons_of("ann") == std::set<std::string>{"SPRING"});
  CHECK(f.users.coupons_of("bob") == std::set<std::string>{"SPRING"});
  CHECK(f.invariants_hold());
}

TEST_CASE("coupon_issue: an issued coupon pays one order and is refused for the next") {
  CouponIssue f;
  REQUIRE(f.world.status(f.issue("SPRING", {"ann", "bob"})) == "completed");
  auto order = [&](const std::string& user) {
    return f.world.start("order_payment", json::object{{"user_id", user},
                                                       {"product_id", "mug"},
                                                       {"quantity", 1},
                                                       {"price", 15},
                                                       {"coupon", "SPRING"}});
  };
  auto first = order("ann");
  auto second = order("bob");
  CHECK(f.world.status(first) == "completed");
  CHECK(f.world.status(second) == "compensated");
  CHECK(f.billing.account("ann").balance == 95);
  CHECK(f.billing.account("bob").balance == 100);
  CHECK(f.invariants_hold());
}
