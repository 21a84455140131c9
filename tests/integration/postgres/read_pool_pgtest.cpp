// The admin endpoint's reads on connections of their own (ReadPool): they answer while the
// orchestrator's store is inside a transaction held open, and the counts they read are kept by
// the schema as sagas move (no scan).
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "contract/store_contract.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/engine/read_pool.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

using namespace sagaflow;
using namespace sagaflow::contract;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

TEST_CASE("admin reads on a read pool answer while the writer's transaction is held open") {
  Scratch scratch;
  PostgresStore writer(scratch.options("sagaflow-writer"));
  commit(writer, {create(saga("s1")), create(saga("s2", "refund"))});
  std::vector<std::unique_ptr<Store>> readers;
  for (int i = 0; i < 2; ++i) {
    readers.push_back(std::make_unique<PostgresStore>(scratch.options("sagaflow-reader")));
  }
  ReadPool reads(std::move(readers));

  // Another session holds s1's row: the writer's commit waits inside its transaction, holding
  // its connection and its lock.
  Session locker = scratch.session();
  locker.execute("BEGIN; SELECT 1 FROM sagas WHERE id = 's1' FOR UPDATE");
  auto committing = std::async(std::launch::async, [&] {
    commit(writer, {advance(saga("s1", "order", "completed", 2), 1)});
  });
  Session probe = scratch.session();
  REQUIRE(eventually([&] {
    return probe
        .scalar(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND "
            "wait_event_type = 'Lock'",
            {std::string("sagaflow-writer")})
        .has_value();
  }));

  const auto started = std::chrono::steady_clock::now();
  CHECK(reads.load("s1")->status == "running");  // what was committed before
  CHECK(reads.list({}).size() == 2);
  CHECK(reads.history("s1").empty());
  CHECK(reads.count_by_flow_and_status() ==
        std::vector<SagaCount>{{"order", "running", 1}, {"refund", "running", 1}});
  CHECK_FALSE(reads.probe());
  // A generous bound: the reads did not wait for the writer (which waits until the lock goes).
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(committing.wait_for(0s) == std::future_status::timeout);  // still held

  locker.execute("ROLLBACK");
  committing.get();
  CHECK(reads.count_by_flow_and_status() ==
        std::vector<SagaCount>{{"order", "completed", 1}, {"refund", "running", 1}});
}

TEST_CASE(
    "the counts come from the table the schema keeps, per partition, as sagas are removed too") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  commit(store, {create(saga("a")), create(saga("b")), create(saga("c", "refund", "failed"))});
  Session session = scratch.session();
  CHECK(session.scalar("SELECT sum(count) FROM saga_counts WHERE flow = $1 AND status = $2",
                       {std::string("order"), std::string("running")}) == "2");
  // Retention removes finished sagas: the counts follow.
  session.query("DELETE FROM sagas WHERE id = $1", {std::string("c")});
  CHECK(store.count_by_flow_and_status() == std::vector<SagaCount>{{"order", "running", 2}});
}
