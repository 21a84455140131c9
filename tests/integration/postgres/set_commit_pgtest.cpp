// What the set-based commit (one statement per kind of change, postgres_store.cpp) must keep of
// the writes' order beyond the store contract: a saga written several times in one batch, the
// net change of timers and routes over such writes, and the refusal naming the right write.
#include <doctest/doctest.h>

#include <string>

#include "contract/store_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::contract;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

}  // namespace

TEST_CASE("set-based commit: several writes of one saga in a batch apply in order") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  commit(store, {create(saga("other"))});
  SagaWrite o = advance(saga("other", "order", "running", 2), 1);
  o.subscribe = {{"e", "k2", "other"}};
  o.timers_set = {{"other", "t", at(7)}};
  commit(store, {o});

  // Created, then moved twice: a timer set then cleared, another cleared then set, a route
  // subscribed then unsubscribed (whoever owned it before), another taken from "other" and the
  // unsubscribe of an unknown route that "other" owns leaves it.
  SagaWrite w1 = create(saga("s"));
  w1.timers_set = {{"s", "a", at(1)}, {"s", "b", at(2)}};
  w1.subscribe = {{"e", "k1", "s"}};
  w1.history = {{"s", 1, at(1), "h1", "", "{}"}};
  w1.outbox = {command("m1", "s")};
  SagaWrite w2 = advance(saga("s", "order", "waiting", 2), 1);
  w2.timers_cleared = {"a", "b"};
  w2.timers_set = {{"s", "b", at(3)}};
  w2.unsubscribe = {{"e", "k1", "s"}, {"e", "k2", "s"}};
  w2.history = {{"s", 2, at(2), "h2", "", "{}"}};
  w2.outbox = {command("m2", "s"), command("m3", "s")};
  SagaWrite w3 = advance(saga("s", "order", "running", 3), 2);
  w3.subscribe = {{"e", "k3", "s"}};
  w3.history = {{"s", 3, at(3), "h3", "", "{}"}};
  w3.outbox = {command("m4", "s")};
  const auto written = commit(store, {w1, w2, w3});

  CHECK(store.load("s")->version == 3);
  CHECK(timer_keys(store.due_timers(at(100), 10)) == std::vector<std::string>{"s/b", "other/t"});
  CHECK(store.due_timers(at(100), 10)[0].due == at(3));
  CHECK_FALSE(store.find_subscriber("e", "k1").has_value());
  CHECK(store.find_subscriber("e", "k2") == std::optional<std::string>("other"));
  CHECK(store.find_subscriber("e", "k3") == std::optional<std::string>("s"));
  auto h = store.history("s");
  REQUIRE(h.size() == 3);
  CHECK(h[0].kind == "h1");
  CHECK(h[2].kind == "h3");
  REQUIRE(written.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(written[i].message.id == "m" + std::to_string(i + 1));
    if (i > 0) CHECK(written[i - 1].seq < written[i].seq);
  }
  const auto stored = store.unpublished_outbox(10);
  REQUIRE(stored.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(stored[i].seq == written[i].seq);

  // A route this batch subscribes for another saga and this saga then unsubscribes stays.
  SagaWrite w4 = advance(saga("other", "order", "running", 3), 2);
  w4.subscribe = {{"e", "k3", "other"}};
  SagaWrite w5 = advance(saga("s", "order", "running", 4), 3);
  w5.unsubscribe = {{"e", "k3", "s"}};
  commit(store, {w4, w5});
  CHECK(store.find_subscriber("e", "k3") == std::optional<std::string>("other"));
}

TEST_CASE("set-based commit: a refusal names the write it belongs to") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  std::vector<SagaWrite> writes;
  for (int i = 0; i < 20; ++i) {
    writes.push_back(
        create(saga("s" + std::to_string(i), "order", "running", 1, "key" + std::to_string(i))));
  }
  commit(store, writes);

  SUBCASE("a stale update among many") {
    std::vector<SagaWrite> moves;
    for (int i = 0; i < 20; ++i) {
      moves.push_back(
          advance(saga("s" + std::to_string(i), "order", "running", 2), i == 13 ? 5 : 1));
    }
    try {
      commit(store, moves);
      FAIL("accepted");
    } catch (const VersionConflict& e) {
      CHECK(e.saga_id == "s13");
    }
  }
  SUBCASE("a create of an existing saga among new ones") {
    try {
      commit(store, {create(saga("n1", "order", "running", 1, "n1")), create(saga("s7")),
                     create(saga("n2", "order", "running", 1, "n2"))});
      FAIL("accepted");
    } catch (const VersionConflict& e) {
      CHECK(e.saga_id == "s7");
    }
  }
  SUBCASE("a used key among new keyed sagas") {
    try {
      commit(store, {create(saga("n1", "order", "running", 1, "fresh1")),
                     create(saga("n2", "order", "running", 1, "key12")),
                     create(saga("n3", "order", "running", 1, "fresh3"))});
      FAIL("accepted");
    } catch (const DuplicateIdempotencyKey& e) {
      CHECK(e.flow == "order");
      CHECK(e.key == "key12");
    }
  }
  for (int i = 0; i < 20; ++i) CHECK(store.load("s" + std::to_string(i))->version == 1);
  CHECK_FALSE(store.load("n1").has_value());
}
