// The coupons participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/coupons.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;
using Status = sagas::CouponsService::Status;

namespace {

struct Coupons {
  Coupons() {
    service.add_coupon("TEN", 10);
    service.add_coupon("HALF", 0, 50);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message apply(const std::string& coupon, const std::string& order, std::int64_t total,
                const std::string& key) {
    return send("coupons.apply",
                json::object{{"coupon_id", coupon}, {"order_id", order}, {"total", total}}, key);
  }
  Message release(const std::string& coupon, const std::string& order, const std::string& key) {
    return send("coupons.release", json::object{{"coupon_id", coupon}, {"order_id", order}}, key);
  }
  sagas::CouponsService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("coupons: apply returns the discount, never more than the total") {
  Coupons c;
  auto fixed = c.apply("TEN", "o1", 30, "k1");
  REQUIRE(fixed.outcome == ReplyOutcome::success);
  CHECK(body_of(fixed).at("discount") == 10);
  CHECK(body_of(fixed).at("amount_to_charge") == 20);
  auto half = c.apply("HALF", "o2", 30, "k2");
  CHECK(body_of(half).at("discount") == 15);
  c.service.add_coupon("BIG", 100);
  CHECK(body_of(c.apply("BIG", "o3", 30, "k3")).at("discount") == 30);
  CHECK(c.service.used_at_most_once());
}

TEST_CASE("coupons: a coupon used twice is CouponAlreadyUsed, the same key is answered again") {
  Coupons c;
  CHECK(c.apply("TEN", "o1", 30, "s1/apply_coupon/do").outcome == ReplyOutcome::success);
  CHECK(c.apply("TEN", "o1", 30, "s1/apply_coupon/do").outcome == ReplyOutcome::success);
  auto twice = c.apply("TEN", "o2", 30, "s2/apply_coupon/do");
  CHECK(twice.outcome == ReplyOutcome::business_failure);
  CHECK(twice.error_code == "CouponAlreadyUsed");
  CHECK(c.service.coupon("TEN").used_by == "o1");
  CHECK(c.service.ledger().size() == 1);
  CHECK(c.service.used_at_most_once());
}

TEST_CASE("coupons: unknown, expired and deleted coupons are refused") {
  Coupons c;
  CHECK(c.apply("NOPE", "o1", 30, "k1").error_code == "UnknownCoupon");
  CHECK(c.service.expire("TEN"));
  CHECK(c.apply("TEN", "o1", 30, "k2").error_code == "CouponExpired");
  c.send("coupons.delete", json::object{{"coupon_id", "HALF"}}, "k3");
  CHECK(c.apply("HALF", "o1", 30, "k4").error_code == "UnknownCoupon");
  CHECK(c.service.ledger().size() == 1);  // the delete
}

TEST_CASE("coupons: release makes the coupon usable again, only for the order holding it") {
  Coupons c;
  CHECK(body_of(c.release("TEN", "o1", "k0")).at("done") == false);  // never applied
  c.apply("TEN", "o1", 30, "k1");
  CHECK(body_of(c.release("TEN", "o2", "k2")).at("done") == false);  // another order's
  CHECK(body_of(c.release("TEN", "o1", "k3")).at("done") == true);
  CHECK(body_of(c.release("TEN", "o1", "k4")).at("done") == false);
  CHECK(c.service.coupon("TEN").status == Status::active);
  CHECK(c.apply("TEN", "o2", 30, "k5").outcome == ReplyOutcome::success);
  CHECK(c.service.used_at_most_once());
}

TEST_CASE("coupons: create refuses a taken id or no discount, delete of nothing is a no-op") {
  Coupons c;
  auto created = c.send("coupons.create",
                        json::object{{"coupon_id", "NEW"}, {"discount", 5}, {"percent", 0}}, "k1");
  CHECK(body_of(created).at("status") == "active");
  CHECK(c.send("coupons.create",
               json::object{{"coupon_id", "NEW"}, {"discount", 5}, {"percent", 0}}, "k2")
            .error_code == "CouponExists");
  CHECK(c.send("coupons.create", json::object{{"coupon_id", "Z"}, {"discount", 0}, {"percent", 0}},
               "k3")
            .error_code == "InvalidDiscount");
  auto none = c.send("coupons.delete", json::object{{"coupon_id", "GHOST"}}, "k4");
  CHECK(none.outcome == ReplyOutcome::success);
  CHECK(body_of(none).at("done") == false);
  CHECK(c.service.ledger().size() == 1);
}
