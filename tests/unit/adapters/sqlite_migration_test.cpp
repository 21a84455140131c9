// A SQLite file written by the previous release (schema version 6: history and timers keyed by
// saga id) opened by this one: migration 7 numbers the sagas and keys history and timers by that
// number, and every row written before is still read, counted, due, cleared and removed.
#include <doctest/doctest.h>

#include <sqlite3.h>

#include <string>

#include "contract/store_contract.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "support/temp_folder.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::contract;

void exec(const std::string& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, message);
}

// Sagas, history and timers with the columns and keys of schema version 6 (no saga numbers),
// holding their rows. Migration 7 makes the sagas' indexes and triggers anew; those it drops by
// name are here.
constexpr const char* kBackToVersion6 = R"sql(
CREATE TABLE sagas_v6 (
  id TEXT PRIMARY KEY NOT NULL, flow TEXT NOT NULL, flow_version INTEGER NOT NULL,
  status TEXT NOT NULL, version INTEGER NOT NULL, idempotency_key TEXT NOT NULL,
  state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  partition INTEGER NOT NULL DEFAULT 0);
INSERT INTO sagas_v6 SELECT id, flow, flow_version, status, version, idempotency_key, state,
  created_at, updated_at, partition FROM sagas;
DROP TABLE sagas;
ALTER TABLE sagas_v6 RENAME TO sagas;
CREATE TABLE history_v6 (
  id INTEGER PRIMARY KEY, saga_id TEXT NOT NULL, saga_version INTEGER NOT NULL,
  at INTEGER NOT NULL, kind TEXT NOT NULL, step TEXT NOT NULL, detail TEXT NOT NULL);
INSERT INTO history_v6 SELECT id, saga_id, saga_version, at, kind, step, detail FROM history;
DROP TABLE history;
ALTER TABLE history_v6 RENAME TO history;
CREATE INDEX history_saga ON history (saga_id, id);
CREATE TABLE timers_v6 (
  saga_id TEXT NOT NULL, key TEXT NOT NULL, due INTEGER NOT NULL,
  started_by TEXT NOT NULL DEFAULT '', runs_for INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (saga_id, key)) WITHOUT ROWID;
INSERT INTO timers_v6 SELECT saga_id, key, due, started_by, runs_for FROM timers;
DROP TABLE timers;
ALTER TABLE timers_v6 RENAME TO timers;
CREATE INDEX timers_due ON timers (due);
PRAGMA user_version = 6;
)sql";

}  // namespace

TEST_CASE("sqlite store: a version 6 file keeps its history and timers after migration 7") {
  sagaflow::testing::TempFolder folder;
  const std::string file = folder.file("v6.db");
  {
    sqlite::SqliteStore store({file, true});
    SagaWrite first = create(saga("s1"));
    first.history.push_back({"s1", 1, at(1), "saga_started", "", "{}"});
    first.timers_set.push_back({"s1", "saga", at(9)});
    first.timers_set.push_back({"s1", "step:pay", kNotStarted, "s1/pay/do/1", Duration(5000)});
    SagaWrite other = create(saga("s2"));
    other.history.push_back({"s2", 1, at(1), "saga_started", "", "{}"});
    commit(store, {first, other});
  }
  exec(file, kBackToVersion6);

  sqlite::SqliteStore store({file, true});
  CHECK(store.load("s1").has_value());
  CHECK(store.count_by_flow_and_status() == std::vector<SagaCount>{{"order", "running", 2}});
  CHECK(store.history("s1").size() == 1);
  CHECK(store.history("s2").size() == 1);
  CHECK(timer_keys(store.due_timers(at(9), 10)) == std::vector<std::string>{"s1/saga"});

  // The attempt's timer written before the migration starts on its command's confirm.
  CommitBatch confirmed;
  confirmed.sent.push_back({"s1", "s1/pay/do/1", at(10)});
  store.commit(confirmed);
  CHECK(timer_keys(store.due_timers(at(15), 10)) ==
        std::vector<std::string>{"s1/saga", "s1/step:pay"});

  // Cleared by key, with a history row beside the old one.
  SagaWrite done = advance(saga("s1", "order", "completed", 2), 1);
  done.history.push_back({"s1", 2, at(20), "saga_completed", "", "{}"});
  done.timers_cleared = {"saga", "step:pay"};
  commit(store, {done});
  CHECK(store.due_timers(at(1000), 10).empty());
  // The counts' triggers, made anew with the numbered table, follow the change.
  CHECK(store.count_by_flow_and_status() ==
        std::vector<SagaCount>{{"order", "completed", 1}, {"order", "running", 1}});
  REQUIRE(store.history("s1").size() == 2);
  CHECK(store.history("s1")[1].kind == "saga_completed");

  // Retention removes the saga with its history from before and after the migration.
  auto finished = store.finished(
      FinishedFilter{.flow = "order", .status = "completed", .changed_before = at(1000)});
  REQUIRE(finished.size() == 1);
  const auto removed = store.remove_finished(finished);
  CHECK(removed.sagas == 1);
  CHECK(removed.history == 2);
  CHECK(store.history("s1").empty());
  CHECK(store.history("s2").size() == 1);

  // A saga started after the migration gets the next number: its rows are its own.
  SagaWrite third = create(saga("s3"));
  third.history.push_back({"s3", 1, at(30), "saga_started", "", "{}"});
  third.timers_set.push_back({"s3", "saga", at(40)});
  commit(store, {third});
  CHECK(store.history("s3").size() == 1);
  CHECK(store.history("s2").size() == 1);
  CHECK(timer_keys(store.due_timers(at(1000), 10)) == std::vector<std::string>{"s3/saga"});
  CHECK(store.count_by_flow_and_status() == std::vector<SagaCount>{{"order", "running", 2}});
}
