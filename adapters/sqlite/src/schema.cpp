#include "schema.hpp"

#include <array>
#include <string>

#include "connection.hpp"
#include "statement.hpp"

namespace sagaflow::sqlite {

namespace {

// The counts' triggers: made by migration 4, and again by migration 7, which rebuilds the table.
constexpr const char* kSagaCountTriggers = R"sql(
CREATE TRIGGER sagas_count_insert AFTER INSERT ON sagas BEGIN
  INSERT INTO saga_counts (flow, status, count) VALUES (NEW.flow, NEW.status, 1)
    ON CONFLICT (flow, status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER sagas_count_update AFTER UPDATE OF status ON sagas
  WHEN OLD.status <> NEW.status BEGIN
  UPDATE saga_counts SET count = count - 1 WHERE flow = OLD.flow AND status = OLD.status;
  INSERT INTO saga_counts (flow, status, count) VALUES (NEW.flow, NEW.status, 1)
    ON CONFLICT (flow, status) DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER sagas_count_delete AFTER DELETE ON sagas BEGIN
  UPDATE saga_counts SET count = count - 1 WHERE flow = OLD.flow AND status = OLD.status;
END;
)sql";

// A migration is up to three scripts, run in order (a script may serve two migrations).
using Migration = std::array<const char*, 3>;

// Append only: a released migration is never edited, a change is a new entry.
constexpr std::array<Migration, 7> kMigrations = {{
    // 1: the initial schema. Times are milliseconds since the epoch (INTEGER).
    {R"sql(
CREATE TABLE sagas (
  id              TEXT PRIMARY KEY NOT NULL,
  flow            TEXT NOT NULL,
  flow_version    INTEGER NOT NULL,
  status          TEXT NOT NULL,
  version         INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  state           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- Partial: sagas started without a key never conflict with each other.
CREATE UNIQUE INDEX sagas_idempotency ON sagas (flow, idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX sagas_status ON sagas (status);
CREATE INDEX sagas_flow ON sagas (flow);
CREATE INDEX sagas_updated_at ON sagas (updated_at);

-- History is never deleted, so the rowid alias grows with every insert and orders the records
-- without AUTOINCREMENT's extra write to sqlite_sequence.
CREATE TABLE history (
  id           INTEGER PRIMARY KEY,
  saga_id      TEXT NOT NULL,
  saga_version INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  step         TEXT NOT NULL,
  detail       TEXT NOT NULL
);
CREATE INDEX history_saga ON history (saga_id, id);

-- Published rows are deleted: AUTOINCREMENT keeps seqs increasing even when the table empties.
CREATE TABLE outbox (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  saga_id         TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  kind            TEXT NOT NULL,
  type            TEXT NOT NULL,
  destination     TEXT NOT NULL,
  correlation_id  TEXT NOT NULL,
  reply_to        TEXT NOT NULL,
  causation_id    TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  outcome         TEXT NOT NULL,
  error_code      TEXT NOT NULL,
  flow            TEXT NOT NULL,
  step            TEXT NOT NULL,
  attempt         INTEGER NOT NULL,
  traceparent     TEXT NOT NULL,
  body            TEXT NOT NULL
);

-- WITHOUT ROWID: small rows looked up by their key; the due index then carries (saga_id, key)
-- and serves "ORDER BY due, saga_id, key" without a sort.
CREATE TABLE timers (
  saga_id TEXT NOT NULL,
  key     TEXT NOT NULL,
  due     INTEGER NOT NULL,
  PRIMARY KEY (saga_id, key)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due);

CREATE TABLE subscriptions (
  event   TEXT NOT NULL,
  key     TEXT NOT NULL,
  saga_id TEXT NOT NULL,
  PRIMARY KEY (event, key)
) WITHOUT ROWID;
)sql"},
    // 2: the admin list (newest first, filtered by flow, status, business key or time) and the
    // deployed flow versions.
    {R"sql(
-- One orchestrator owns every saga of a SQLite file; the partition is kept so that a saga
-- reads back as it was written, whichever store holds it.
ALTER TABLE sagas ADD COLUMN partition INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sagas_created ON sagas (created_at, id);
CREATE INDEX sagas_flow_created ON sagas (flow, created_at, id);
CREATE INDEX sagas_status_created ON sagas (status, created_at, id);
CREATE INDEX sagas_key ON sagas (idempotency_key) WHERE idempotency_key <> '';
DROP INDEX sagas_updated_at;
DROP INDEX sagas_status;
DROP INDEX sagas_flow;

CREATE TABLE flow_definitions (
  name        TEXT NOT NULL,
  version     INTEGER NOT NULL,
  source      TEXT NOT NULL,
  deployed_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql"},
    // 3: an attempt's timer starts when the transport confirms its command: until then its due
    // is the far future (never due) and it remembers the command and how long it will run.
    {R"sql(
ALTER TABLE timers ADD COLUMN started_by TEXT NOT NULL DEFAULT '';
ALTER TABLE timers ADD COLUMN runs_for INTEGER NOT NULL DEFAULT 0;
)sql"},
    // 4: the counts per flow and status (the dashboard's), kept by triggers as sagas are
    // written or removed, so that reading them is not a scan of every saga.
    {R"sql(
CREATE TABLE saga_counts (
  flow   TEXT NOT NULL,
  status TEXT NOT NULL,
  count  INTEGER NOT NULL,
  PRIMARY KEY (flow, status)
) WITHOUT ROWID;
INSERT INTO saga_counts (flow, status, count)
  SELECT flow, status, count(*) FROM sagas GROUP BY flow, status;
)sql",
     kSagaCountTriggers},
    // 5: the operators' audit log and the paused flows (pause and resume, bulk actions).
    {R"sql(
CREATE TABLE audit_log (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  at            INTEGER NOT NULL,
  actor         TEXT NOT NULL,
  action        TEXT NOT NULL,
  reason        TEXT NOT NULL,
  request       TEXT NOT NULL,
  result_status INTEGER NOT NULL,
  result        TEXT NOT NULL
);
CREATE TABLE paused_flows (
  flow TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
)sql"},
    // 6: the deployed schedules, each with its last firing (docs/schedules.md). Self-contained
    // (IF NOT EXISTS), so that it may be renumbered among other features' migrations.
    {R"sql(
CREATE TABLE IF NOT EXISTS schedules (
  name         TEXT PRIMARY KEY NOT NULL,
  flow         TEXT NOT NULL,
  cron         TEXT NOT NULL,
  zone         TEXT NOT NULL,
  overlap      TEXT NOT NULL,
  input        TEXT NOT NULL,
  paused       INTEGER NOT NULL,
  deployed_at  INTEGER NOT NULL,
  last_fire    INTEGER,
  last_outcome TEXT NOT NULL,
  last_saga    TEXT NOT NULL
) WITHOUT ROWID;
)sql"},
    // 7: history and the timers keyed by their saga's number (`seq`, in order of creation)
    // instead of its id. Ids are random, so keyed by id every saga in flight had a page of its
    // own in history's index and in the timers, and a group commit wrote about one page per saga
    // into the WAL; the sagas in flight are mostly the newest, and by number they share a few
    // pages. `seq` is an INTEGER PRIMARY KEY, the rowid itself: stable, even across VACUUM.
    {R"sql(
CREATE TABLE sagas_numbered (
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  flow            TEXT NOT NULL,
  flow_version    INTEGER NOT NULL,
  status          TEXT NOT NULL,
  version         INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL,
  state           TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  partition       INTEGER NOT NULL DEFAULT 0
);
INSERT INTO sagas_numbered (seq, id, flow, flow_version, status, version, idempotency_key, state,
                            created_at, updated_at, partition)
  SELECT rowid, id, flow, flow_version, status, version, idempotency_key, state, created_at,
         updated_at, partition FROM sagas ORDER BY rowid;
DROP TABLE sagas;
ALTER TABLE sagas_numbered RENAME TO sagas;
CREATE UNIQUE INDEX sagas_idempotency ON sagas (flow, idempotency_key)
  WHERE idempotency_key <> '';
CREATE INDEX sagas_created ON sagas (created_at, id);
CREATE INDEX sagas_flow_created ON sagas (flow, created_at, id);
CREATE INDEX sagas_status_created ON sagas (status, created_at, id);
CREATE INDEX sagas_key ON sagas (idempotency_key) WHERE idempotency_key <> '';
)sql",
     kSagaCountTriggers,
     R"sql(
ALTER TABLE history ADD COLUMN saga_seq INTEGER NOT NULL DEFAULT 0;
UPDATE history SET saga_seq = COALESCE((SELECT seq FROM sagas WHERE sagas.id = history.saga_id), 0);
DROP INDEX history_saga;
CREATE INDEX history_saga ON history (saga_seq, id);

CREATE TABLE timers_numbered (
  saga_seq   INTEGER NOT NULL,
  key        TEXT NOT NULL,
  saga_id    TEXT NOT NULL,
  due        INTEGER NOT NULL,
  started_by TEXT NOT NULL DEFAULT '',
  runs_for   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (saga_seq, key)
) WITHOUT ROWID;
INSERT INTO timers_numbered (saga_seq, key, saga_id, due, started_by, runs_for)
  SELECT COALESCE((SELECT seq FROM sagas WHERE sagas.id = timers.saga_id), 0), key, saga_id,
         due, started_by, runs_for FROM timers;
DROP TABLE timers;
ALTER TABLE timers_numbered RENAME TO timers;
-- Carries (saga_seq, key): the attempts' timers that wait for their command (all due at the far
-- end) sit by saga number too; "ORDER BY due, saga_id, key" sorts only the ties among due ones.
CREATE INDEX timers_due ON timers (due);
)sql"},
}};

std::size_t user_version(Connection& connection) {
  Statement query(connection.get(), "PRAGMA user_version");
  query.step();
  return static_cast<std::size_t>(query.column_int64(0));
}

}  // namespace

void migrate(Connection& connection) {
  // IMMEDIATE: two processes opening a fresh file at once must not both run migration 1.
  connection.exec("BEGIN IMMEDIATE");
  try {
    const std::size_t current = user_version(connection);
    if (current > kMigrations.size()) {
      throw Error(0, "sqlite: the database has schema version " + std::to_string(current) +
                         ", newer than this Sagaflow knows (" + std::to_string(kMigrations.size()) +
                         ")");
    }
    for (std::size_t i = current; i < kMigrations.size(); ++i) {
      for (const char* script : kMigrations[i]) {
        if (script != nullptr) connection.exec(script);
      }
    }
    if (current < kMigrations.size()) {
      // PRAGMA takes no bound parameters; the value is our own constant, never outside input.
      const std::string bump = "PRAGMA user_version = " + std::to_string(kMigrations.size());
      connection.exec(bump.c_str());
    }
    connection.exec("COMMIT");
  } catch (...) {
    if (!connection.autocommit()) {
      try {
        connection.exec("ROLLBACK");
      } catch (const Error&) {
        // The error being rethrown is the one worth reporting; the connection closes anyway.
      }
    }
    throw;
  }
}

}  // namespace sagaflow::sqlite
