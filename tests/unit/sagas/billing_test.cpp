// The billing participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "sagaflow/sagas/billing.hpp"
#include "support/send_command.hpp"

using namespace sagaflow;
using sagaflow::testing::body_of;

namespace {

struct Billing {
  Billing() {
    service.open_account("ann", 100);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return sagaflow::testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message charge(const std::string& order, std::int64_t total, json::value discount,
                 const std::string& key, const std::string& user = "ann") {
    return send("billing.charge",
                json::object{{"user_id", user},
                             {"order_id", order},
                             {"total", total},
                             {"discount", std::move(discount)}},
                key);
  }
  Message refund(const std::string& order, const std::string& key) {
    return send("billing.refund", json::object{{"order_id", order}}, key);
  }
  sagas::BillingService service{25};  // accounts opened by create_account start with 25
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("billing: charge takes total minus discount, a null discount counts as none") {
  Billing b;
  auto with = b.charge("o1", 50, 20, "k1");
  REQUIRE(with.outcome == ReplyOutcome::success);
  CHECK(body_of(with).at("amount") == 30);
  CHECK(body_of(with).at("balance") == 70);
  auto without = b.charge("o2", 50, nullptr, "k2");
  REQUIRE(without.outcome == ReplyOutcome::success);
  CHECK(body_of(without).at("amount") == 50);
  auto a = b.service.account("ann");
  CHECK(a.balance == 20);
  CHECK(a.charged == 80);
  CHECK(b.service.conserved());
}

TEST_CASE("billing: a charge above the balance is InsufficientFunds and moves no money") {
  Billing b;
  auto reply = b.charge("o1", 101, 0, "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "InsufficientFunds");
  CHECK(b.charge("o2", 10, 0, "k2", "nobody").error_code == "UnknownAccount");
  CHECK(b.charge("o3", 10, 11, "k3").error_code == "InvalidAmount");
  CHECK(b.service.account("ann").balance == 100);
  CHECK(b.service.ledger().empty());
  CHECK(b.service.conserved());
}

TEST_CASE("billing: an order is charged once, the same key is answered from the record") {
  Billing b;
  CHECK(b.charge("o1", 40, 0, "s1/charge/do").outcome == ReplyOutcome::success);
  CHECK(b.charge("o1", 40, 0, "s1/charge/do").outcome == ReplyOutcome::success);
  CHECK(b.charge("o1", 40, 0, "s2/charge/do").error_code == "AlreadyCharged");
  CHECK(b.service.account("ann").balance == 60);
  CHECK(b.service.ledger().size() == 1);
}

TEST_CASE("billing: refund gives the charge back once, refunding nothing changes nothing") {
  Billing b;
  auto never = b.refund("o404", "k0");
  CHECK(never.outcome == ReplyOutcome::success);
  CHECK(body_of(never).at("done") == false);
  b.charge("o1", 40, 10, "k1");
  auto first = b.refund("o1", "k2");
  CHECK(body_of(first).at("done") == true);
  CHECK(body_of(first).at("amount") == 30);
  CHECK(body_of(b.refund("o1", "k3")).at("done") == false);
  auto a = b.service.account("ann");
  CHECK(a.balance == 100);
  CHECK(a.refunded == 30);
  CHECK(b.service.conserved());
  CHECK(b.service.ledger().size() == 2);
}

TEST_CASE("billing: create_account opens with the opening balance, blocked users are refused") {
  Billing b;
  b.service.block("eve");
  auto blocked = b.send("billing.create_account", json::object{{"user_id", "eve"}}, "k1");
  CHECK(blocked.outcome == ReplyOutcome::business_failure);
  CHECK(blocked.error_code == "AccountBlocked");
  CHECK_FALSE(b.service.has_account("eve"));
  auto bob = b.send("billing.create_account", json::object{{"user_id", "bob"}}, "k2");
  CHECK(body_of(bob).at("balance") == 25);
  CHECK(b.send("billing.create_account", json::object{{"user_id", "bob"}}, "k3").error_code ==
        "AccountExists");
  CHECK(b.service.deposit("bob", 75));
  CHECK(b.service.account("bob").funded == 100);
  CHECK(b.service.conserved());
}

TEST_CASE("billing: delete_account closes it once, a closed account takes no charge") {
  Billing b;
  auto nobody = b.send("billing.delete_account", json::object{{"user_id", "zed"}}, "k0");
  CHECK(body_of(nobody).at("done") == false);
  CHECK(body_of(b.send("billing.delete_account", json::object{{"user_id", "ann"}}, "k1"))
            .at("done") == true);
  CHECK(body_of(b.send("billing.delete_account", json::object{{"user_id", "ann"}}, "k2"))
            .at("done") == false);
  CHECK_FALSE(b.service.has_account("ann"));
  CHECK(b.charge("o1", 10, 0, "k3").error_code == "UnknownAccount");
  CHECK(b.service.conserved());
}
