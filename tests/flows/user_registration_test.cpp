// user_registration (seed 001, first block) end to end with the users, billing and
// notifications participants: the happy path and every step's failure, with the compensations
// in order.
#include <doctest/doctest.h>

#include "commerce_world.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct Registration : sagaflow::testing::CommerceWorld {
  Registration() : CommerceWorld({"user_registration"}) {}
  std::string register_user(const std::string& id, const std::string& email) {
    return world.start("user_registration",
                       json::object{{"user_id", id}, {"username", id}, {"email", email}});
  }
};

}  // namespace

TEST_CASE("user_registration: creates the user, then its account and contact in parallel") {
  Registration f;
  auto id = f.register_user("bob", "bob@example.com");
  CHECK(f.world.status(id) == "completed");
  auto commands = f.world.commands(id);
  REQUIRE(commands.size() == 3);
  CHECK(commands[0] == "users.create");
  CHECK(Strings(commands.begin() + 1, commands.end()) ==
        Strings{"billing.create_account", "notifications.save_user"});
  CHECK(f.world.events(id) == Strings{"UserCreated", "BillingAccountCreated"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.users.exists("bob"));
  CHECK(f.billing.has_account("bob"));
  CHECK(f.notifications.knows("bob"));
  CHECK(f.invariants_hold());
}

TEST_CASE(
    "user_registration: a blocked user's billing refusal forgets the contact, deletes the user") {
  Registration f;
  f.billing.block("eve");
  auto id = f.register_user("eve", "eve@example.com");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"notifications.forget_user", "users.delete"});
  CHECK(f.world.events(id) == Strings{"UserCreated", "UserRegistrationFailed"});
  CHECK_FALSE(f.users.exists("eve"));
  CHECK_FALSE(f.billing.has_account("eve"));
  CHECK_FALSE(f.notifications.knows("eve"));
  CHECK(f.invariants_hold());
  // The email is free again: the same person can register once unblocked.
  auto again = f.register_user("eve2", "eve@example.com");
  CHECK(f.world.status(again) == "completed");
}

TEST_CASE("user_registration: a taken email fails the first step and undoes nothing") {
  Registration f;
  f.users.add_user("ann", "ann", "ann@example.com");
  auto id = f.register_user("ann2", "ann@example.com");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"users.create"});
  CHECK(f.world.compensations(id).empty());
  CHECK_FALSE(f.users.exists("ann2"));
  CHECK(f.users.ledger().empty());
  CHECK(f.invariants_hold());
}

TEST_CASE(
    "user_registration: a contact that cannot be saved closes the account, deletes the user") {
  Registration f;
  auto id = f.register_user("bob", "bob@");  // users accepts it, notifications has no address
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"billing.delete_account", "users.delete"});
  CHECK_FALSE(f.users.exists("bob"));
  CHECK_FALSE(f.billing.has_account("bob"));
  CHECK(f.invariants_hold());
}

TEST_CASE("user_registration: billing down for good compensates after its retries") {
  Registration f;
  f.world.fail_next("billing.create_account", 3);
  auto id = f.register_user("bob", "bob@example.com");
  f.world.advance(10s);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"notifications.forget_user", "users.delete"});
  CHECK_FALSE(f.users.exists("bob"));
  CHECK(f.invariants_hold());
}

TEST_CASE("user_registration: a lost reply of users.create is retried and applied once") {
  Registration f;
  f.world.lose_reply_of_next("users.create");
  auto id = f.register_user("bob", "bob@example.com");
  f.world.advance(6s);  // the attempt times out (5s); the retry is answered from the record
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id).front() == "users.create");
  CHECK(f.users.ledger().size() == 1);
  CHECK(f.invariants_hold());
}
