// Every filter of the admin list is served by an index, read in the list's order: no sequential
// scan, no sort, however many sagas there are. Checked on the plans PostgreSQL picks for a table
// of SAGAFLOW_TEST_PG_LIST_ROWS sagas (default 100000, filled in about a second; the plans are
// the same on a million). On fewer rows the planner may rightly sort a small bitmap result.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/postgres_store.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

Timestamp second(std::int64_t n) {
  return from_millis(1'700'000'000'000 + n * 1000);
}

}  // namespace

TEST_CASE("postgres store: every admin list filter reads an index in order") {
  Scratch scratch;
  PostgresStore store(scratch.options());
  const char* env = std::getenv("SAGAFLOW_TEST_PG_LIST_ROWS");
  const std::string rows = env != nullptr && *env != '\0' ? env : "100000";

  // Ten flows, six statuses (half of them finished), a business key on every other saga, one
  // saga a second. (Flows and statuses are correlated: flow3 has running, failed and compensated
  // sagas only.)
  PostgresOptions options = scratch.options("sagaflow-test-fill");
  options.io_timeout = std::chrono::minutes(10);
  Session session(options);
  session.query(
      "INSERT INTO sagas (id, flow, flow_version, status, version, idempotency_key, partition, "
      "lease_epoch, state, created_at, updated_at) "
      "SELECT 's' || n, 'flow' || (n % 10), 1, "
      "(ARRAY['completed', 'completed', 'compensated', 'running', 'waiting', 'failed'])"
      "[1 + n % 6], 1, CASE WHEN n % 2 = 0 THEN 'key-' || n ELSE '' END, n % 16, 0, "
      "'{\"cursor\":1}', 1700000000000 + n * 1000, 1700000000000 + n * 1000 "
      "FROM generate_series(1, $1::integer) AS n",
      {rows});
  session.execute("ANALYZE sagas");
  const std::int64_t middle = std::stoll(rows) / 2;
  const SagaCursor cursor{second(middle), "s" + std::to_string(middle)};

  const std::vector<std::pair<const char*, SagaFilter>> filters = {
      {"everything", {}},
      {"flow", {.flow = "flow3"}},
      {"status", {.status = "running"}},
      {"flow and status", {.flow = "flow3", .status = "running"}},
      {"business key", {.key = "key-1234"}},
      {"time range", {.created_from = second(100), .created_before = second(5000)}},
      {"flow and time", {.flow = "flow3", .created_from = second(100)}},
      {"status and time", {.status = "failed", .created_before = second(middle)}},
      {"next page", {.after = cursor}},
      {"next page of a flow", {.flow = "flow3", .after = cursor}},
      {"next page of a status", {.status = "waiting", .after = cursor}},
      {"next page of a flow and status", {.flow = "flow3", .status = "running", .after = cursor}},
  };
  for (const auto& [label, filter] : filters) {
    const std::string name = label;
    CAPTURE(name);
    const std::string plan = store.explain_list(filter);
    CAPTURE(plan);
    CHECK(plan.find("Index") != std::string::npos);
    CHECK(plan.find("Seq Scan") == std::string::npos);
    CHECK(plan.find("Sort") == std::string::npos);
    // And the answer is the one the filter asks for.
    const auto page = store.list(filter);
    CHECK(!page.empty());
    for (std::size_t i = 1; i < page.size(); ++i) {
      CHECK(SagaCursor{page[i].created_at, page[i].id} !=
            SagaCursor{page[i - 1].created_at, page[i - 1].id});
      CHECK(page[i].created_at <= page[i - 1].created_at);
    }
  }
  CHECK(store.list({.key = "key-1234"}).size() == 1);
  CHECK(store.list({.key = "key-1233"}).empty());
}
