// The points participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/points.hpp"

using namespace sagaflow;

namespace {

struct Points {
  Points() {
    service.open_account("ann", 100);
    service.register_handlers(dispatcher);
  }
  // Sends a command with its own idempotency key, as the engine does for each step.
  Message send(const std::string& type, json::value payload, const std::string& key) {
    Message m;
    m.id = key + "/1";
    m.idempotency_key = key;
    m.type = type;
    m.body = json::serialize(payload);
    return dispatcher.handle(m);
  }
  std::string reserve(std::int64_t amount, const std::string& key) {
    auto reply = send("points.reserve",
                      json::object{{"user_id", "ann"}, {"amount", amount}, {"order_id", "o"}}, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(json::parse(reply.body).at("reservation_id").as_string());
  }
  sagas::PointsService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("points: a reservation above the balance is refused as InsufficientPoints") {
  Points p;
  auto reply = p.send("points.reserve",
                      json::object{{"user_id", "ann"}, {"amount", 101}, {"order_id", "o"}}, "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "InsufficientPoints");
  CHECK(p.service.account("ann").balance == 100);
}

TEST_CASE("points: reserve, debit and refund move the points and keep them conserved") {
  Points p;
  auto id = p.reserve(60, "k1");
  CHECK(p.service.account("ann").reserved == 60);
  CHECK(p.send("points.debit", json::object{{"reservation_id", id}}, "k2").outcome ==
        ReplyOutcome::success);
  CHECK(p.service.account("ann").spent == 60);
  auto refund = p.send("points.refund", json::object{{"reservation_id", id}}, "k3");
  CHECK(json::parse(refund.body).at("done") == true);
  auto a = p.service.account("ann");
  CHECK(a.balance == 100);
  CHECK(a.refunded == 60);
  CHECK(p.service.conserved());
}

TEST_CASE("points: undoing what never happened succeeds and changes nothing") {
  Points p;
  auto release = p.send("points.release", json::object{{"reservation_id", "res-404"}}, "k1");
  CHECK(release.outcome == ReplyOutcome::success);
  CHECK(json::parse(release.body).at("done") == false);
  CHECK(p.service.ledger().empty());
  auto id = p.reserve(10, "k2");
  p.send("points.release", json::object{{"reservation_id", id}}, "k3");
  auto debit = p.send("points.debit", json::object{{"reservation_id", id}}, "k4");
  CHECK(debit.error_code == "NotReserved");  // a released hold cannot be debited
}

TEST_CASE("points: a command repeated with the same idempotency key is applied once") {
  Points p;
  auto first = p.reserve(30, "s1/reserve_points/do");
  auto again = p.reserve(30, "s1/reserve_points/do");
  CHECK(first == again);
  CHECK(p.service.account("ann").reserved == 30);
  CHECK(p.service.ledger().size() == 1);
}

TEST_CASE("points: a payload that does not fit the contract is refused, not retried") {
  Points p;
  auto reply = p.send("points.reserve", json::object{{"user_id", "ann"}}, "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "MalformedPayload");
}
