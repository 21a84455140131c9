// Seeding the participants from a list of set-up calls (sagaflow-participant --seed FILE), and
// reading back where each seeded resource stands.
#include <doctest/doctest.h>

#include <stdexcept>

#include "sagaflow/sagas/participants.hpp"
#include "sagaflow/sagas/seed_file.hpp"
#include "support/send_command.hpp"

namespace {

using namespace sagaflow;

json::value calls(const char* text) {
  return json::parse(text);
}

}  // namespace

TEST_CASE("seed file: its calls seed the participants as the set-up calls do") {
  sagas::Participants p;
  const auto seed = calls(R"([["points.open_account", "alice", 1000], ["points.freeze", "bob"],
      ["billing.open_account", "u1", 5000], ["inventory.add_stock", "lamp", 3],
      ["booking.add_slot", "mon", 1], ["certificates.issue", "GC-1", 700],
      ["payment_gateway.register_method", "card", 9000], ["payment_gateway.decline", "card"],
      ["coupons.add_coupon", "C1", 100], ["coupons.expire", "C1"]])");
  sagas::seed_from_calls(p, seed);
  CHECK(p.points.account("alice").balance == 1000);
  CHECK(p.billing.account("u1").balance == 5000);
  CHECK(p.inventory.product("lamp").stock == 3);
  CHECK(p.certificates.certificate("GC-1").balance == 700);
  CHECK(p.payment_gateway.method("card").declined);

  // A reserve and a debit of 400 points: the holdings follow the participant's state.
  auto reserved = testing::send_command(
      *p.dispatcher("points"), "points.reserve",
      json::object{{"user_id", "alice"}, {"amount", 400}, {"order_id", "o1"}}, "k1");
  REQUIRE(reserved.outcome == ReplyOutcome::success);
  const auto holdings = sagas::seed_holdings(p, seed);
  CHECK(holdings.at("points").at("alice") == 600);
  CHECK(holdings.at("billing").at("u1") == 5000);
  CHECK(holdings.at("inventory").at("lamp") == 3);
  CHECK(holdings.at("booking").at("mon") == 0);
  CHECK(holdings.at("certificates").at("GC-1") == 700);
  CHECK(holdings.at("payment_gateway").at("card") == 9000);
  for (const auto& [name, holds] : holdings.at("invariants").as_object()) {
    CHECK_MESSAGE(holds.as_bool(), name);
  }
}

TEST_CASE("seed file: an unknown call, a wrong argument or a refused call is an error naming it") {
  sagas::Participants p;
  CHECK_THROWS_WITH_AS(sagas::seed_from_calls(p, calls(R"([["points.mint", "x"]])")),
                       "unknown seed call points.mint", std::invalid_argument);
  CHECK_THROWS_WITH_AS(sagas::seed_from_calls(p, calls(R"([["points.open_account", "x", "ten"]])")),
                       "seed call points.open_account: argument 2 must be an integer",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(sagas::seed_from_calls(p, calls(R"([["points.freeze"]])")),
                       "seed call points.freeze takes 1 arguments, not 0", std::invalid_argument);
  CHECK_THROWS_AS(sagas::seed_from_calls(p, calls(R"({"points": 1})")), std::invalid_argument);
  CHECK_THROWS_AS(sagas::seed_from_calls(p, calls(R"([["payments.open_payment", "p", 0]])")),
                  std::invalid_argument);
}
