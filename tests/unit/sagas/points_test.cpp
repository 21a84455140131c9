// The points participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"

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
    return testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message reserve_for(const std::string& order, std::int64_t amount, const std::string& key) {
    return send("points.reserve",
                json::object{{"user_id", "ann"}, {"amount", amount}, {"order_id", order}}, key);
  }
  std::string reserve(std::int64_t amount, const std::string& key, const std::string& order = "o") {
    auto reply = reserve_for(order, amount, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    return std::string(json::parse(reply.body).at("reservation_id").as_string());
  }
  Message release(const std::string& order, const std::string& key) {
    return send("points.release", json::object{{"order_id", order}}, key);
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
  auto release = p.release("o-404", "k1");
  CHECK(release.outcome == ReplyOutcome::success);
  CHECK(json::parse(release.body).at("done") == false);
  auto refund = p.send("points.refund", json::object{{"reservation_id", "res-404"}}, "k2");
  CHECK(json::parse(refund.body).at("done") == false);
  CHECK(p.service.ledger().empty());
  auto id = p.reserve(10, "k3");
  p.release("o", "k4");
  auto debit = p.send("points.debit", json::object{{"reservation_id", id}}, "k5");
  CHECK(debit.error_code == "NotReserved");  // a released hold cannot be debited
}

TEST_CASE("points: release finds the hold by its order and releases it once") {
  Points p;
  auto id = p.reserve(40, "s1/reserve_points/do", "ord-1");
  p.reserve(25, "s2/reserve_points/do", "ord-2");
  auto first = p.release("ord-1", "s1/reserve_points/undo");
  REQUIRE(first.outcome == ReplyOutcome::success);
  CHECK(json::parse(first.body).at("done") == true);
  // Repeated with the same key: answered from the record. Under another key: nothing to undo.
  CHECK(p.release("ord-1", "s1/reserve_points/undo").body == first.body);
  CHECK(json::parse(p.release("ord-1", "k9").body).at("done") == false);
  auto a = p.service.account("ann");
  CHECK(a.reserved == 25);  // ord-2's hold stays
  CHECK(a.balance == 75);
  CHECK(p.service.conserved());
  REQUIRE(p.service.ledger().size() == 3);  // two reserves, one release
  CHECK(p.service.ledger()[2].kind == "release");
  CHECK(p.service.ledger()[2].command_id == "s1/reserve_points/undo");
  CHECK(p.service.ledger()[2].reservation_id == id);
  CHECK(p.service.ledger()[2].amount == 40);
}

TEST_CASE("points: releasing an order never held succeeds, changes nothing, and closes it") {
  Points p;
  auto release = p.release("ord-1", "s1/reserve_points/undo");
  REQUIRE(release.outcome == ReplyOutcome::success);
  CHECK(json::parse(release.body).at("done") == false);
  // The reserve held up in the broker arrives after its saga gave up: it holds nothing.
  auto late = p.reserve_for("ord-1", 30, "s1/reserve_points/do");
  CHECK(late.outcome == ReplyOutcome::business_failure);
  CHECK(late.error_code == "HoldReleased");
  CHECK(p.service.account("ann").balance == 100);
  CHECK(p.service.account("ann").reserved == 0);
  CHECK(p.service.ledger().empty());
  CHECK(p.service.conserved());
}

TEST_CASE("points: a debited hold is not released, refund undoes the debit") {
  Points p;
  auto id = p.reserve(60, "k1", "ord-1");
  p.send("points.debit", json::object{{"reservation_id", id}}, "k2");
  CHECK(json::parse(p.release("ord-1", "k3").body).at("done") == false);
  CHECK(p.service.account("ann").spent == 60);
  CHECK(json::parse(p.send("points.refund", json::object{{"reservation_id", id}}, "k4").body)
            .at("done") == true);
  CHECK(json::parse(p.release("ord-1", "k5").body).at("done") == false);
  CHECK(p.service.account("ann").balance == 100);
  CHECK(p.service.conserved());
}

TEST_CASE("points: one hold per order, whatever the idempotency key") {
  Points p;
  auto first = p.reserve(30, "k1", "ord-1");
  CHECK(p.reserve(30, "k2", "ord-1") == first);
  CHECK(p.reserve_for("ord-1", 31, "k3").error_code == "ReferenceReused");
  CHECK(p.service.account("ann").reserved == 30);
  CHECK(p.service.ledger().size() == 1);
  p.release("ord-1", "k4");
  CHECK(p.reserve_for("ord-1", 30, "k5").error_code == "HoldReleased");
  CHECK(p.reserve_for("", 30, "k6").error_code == "MissingReference");
  CHECK(p.service.account("ann").balance == 100);
  CHECK(p.service.conserved());
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

namespace {

Message add(Points& p, std::int64_t amount, const std::string& reference, const std::string& key,
            const std::string& user = "ann") {
  return p.send("points.add",
                json::object{{"user_id", user}, {"amount", amount}, {"reference", reference}}, key);
}

}  // namespace

TEST_CASE("points: add credits purchased points and keeps the points conserved") {
  Points p;
  auto reply = add(p, 250, "s1", "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  CHECK(json::parse(reply.body).at("balance") == 350);
  auto a = p.service.account("ann");
  CHECK(a.balance == 350);
  CHECK(a.added == 250);
  CHECK(p.service.conserved());
  REQUIRE(p.service.ledger().size() == 1);
  CHECK(p.service.ledger()[0].kind == "add");
  CHECK(p.service.ledger()[0].command_id == "k1");
}

TEST_CASE("points: add to a frozen or unknown account is a business failure and adds nothing") {
  Points p;
  p.service.freeze("ann");
  auto frozen = add(p, 50, "s1", "k1");
  CHECK(frozen.outcome == ReplyOutcome::business_failure);
  CHECK(frozen.error_code == "AccountFrozen");
  CHECK(add(p, 50, "s2", "k2", "bob").error_code == "UnknownUser");
  CHECK(add(p, 0, "s3", "k3").error_code == "InvalidAmount");
  CHECK(p.service.account("ann").balance == 100);
  CHECK(p.service.ledger().empty());
  CHECK(p.service.conserved());
}

TEST_CASE("points: add repeated by key or by reference credits once") {
  Points p;
  auto first = add(p, 40, "s1", "s1/add_points/do");
  auto same_key = add(p, 40, "s1", "s1/add_points/do");
  auto same_reference = add(p, 40, "s1", "another-key");
  CHECK(first.body == same_key.body);
  CHECK(json::parse(first.body).at("credit_id") ==
        json::parse(same_reference.body).at("credit_id"));
  CHECK(p.service.account("ann").added == 40);
  CHECK(p.service.ledger().size() == 1);
  CHECK(add(p, 41, "s1", "k9").error_code == "ReferenceReused");
}

TEST_CASE("points: revoke takes a credit back once, revoking nothing succeeds with done=false") {
  Points p;
  auto nothing = p.send("points.revoke", json::object{{"reference", "never"}}, "k0");
  CHECK(nothing.outcome == ReplyOutcome::success);
  CHECK(json::parse(nothing.body).at("done") == false);
  add(p, 70, "s1", "k1");
  auto first = p.send("points.revoke", json::object{{"reference", "s1"}}, "k2");
  CHECK(json::parse(first.body).at("done") == true);
  auto again = p.send("points.revoke", json::object{{"reference", "s1"}}, "k3");
  CHECK(json::parse(again.body).at("done") == false);
  auto a = p.service.account("ann");
  CHECK(a.balance == 100);
  CHECK(a.revoked == 70);
  CHECK(p.service.conserved());
}

TEST_CASE("points: a credit already spent cannot be revoked") {
  Points p;
  add(p, 50, "s1", "k1");
  p.reserve(150, "k2");  // spends the credit too
  auto revoke = p.send("points.revoke", json::object{{"reference", "s1"}}, "k3");
  CHECK(revoke.outcome == ReplyOutcome::business_failure);
  CHECK(revoke.error_code == "PointsAlreadySpent");
  CHECK(p.service.account("ann").added == 50);
  CHECK(p.service.conserved());
}
