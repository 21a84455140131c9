#include "schema.hpp"

#include <array>
#include <string>

#include "connection.hpp"
#include "errors.hpp"
#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

namespace {

// Taken for the migrating transaction: "sagaflow" in ASCII, the key of no other lock.
constexpr const char* kMigrationLock = "7453447745086574";

// Append only: a released migration is never edited, a change is a new entry.
constexpr std::array<const char*, 8> kMigrations = {
    // 1: the initial schema. Times are milliseconds since the epoch (bigint), as the Store port
    // has them: they round-trip exactly. Text keys use the "C" collation, so that ids, flows and
    // statuses order by bytes as in every other store, and the keyset cursor of the admin list
    // compares as its index sorts.
    R"sql(
CREATE TABLE sagas (
  id              text COLLATE "C" PRIMARY KEY,
  flow            text COLLATE "C" NOT NULL,
  flow_version    integer NOT NULL,
  status          text COLLATE "C" NOT NULL,
  version         bigint NOT NULL,
  idempotency_key text COLLATE "C" NOT NULL,
  partition       integer NOT NULL,
  lease_epoch     bigint NOT NULL,
  state           jsonb NOT NULL,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL
);
-- Partial: sagas started without a key never conflict with each other.
CREATE UNIQUE INDEX sagas_idempotency ON sagas (flow, idempotency_key)
  WHERE idempotency_key <> '';
-- The admin list: newest first by (created_at, id), narrowed by flow, status, flow and status,
-- or business key, each read backwards from the first row of its range (no sort, stops at the
-- page's limit); the cursor is a row comparison on the same columns.
CREATE INDEX sagas_created ON sagas (created_at, id);
CREATE INDEX sagas_flow_created ON sagas (flow, created_at, id);
CREATE INDEX sagas_status_created ON sagas (status, created_at, id);
CREATE INDEX sagas_flow_status_created ON sagas (flow, status, created_at, id);
CREATE INDEX sagas_key_created ON sagas (idempotency_key, created_at, id)
  WHERE idempotency_key <> '';
-- Recovery reads the unfinished sagas only, oldest first: a partial index of those, which stays
-- small however many finished sagas the table keeps.
CREATE INDEX sagas_unfinished ON sagas (created_at, id)
  WHERE status NOT IN ('completed', 'compensated', 'cancelled');
CREATE INDEX sagas_unfinished_partition ON sagas (partition, created_at, id)
  WHERE status NOT IN ('completed', 'compensated', 'cancelled');

-- History is never deleted; the bigserial orders the records of one saga.
CREATE TABLE history (
  id           bigserial PRIMARY KEY,
  saga_id      text COLLATE "C" NOT NULL,
  saga_version bigint NOT NULL,
  at           bigint NOT NULL,
  kind         text NOT NULL,
  step         text NOT NULL,
  detail       text NOT NULL
);
CREATE INDEX history_saga ON history (saga_id, id);

-- One row per committed transaction, written by the transaction itself: after a connection
-- lost during COMMIT, its presence says that the commit happened (the commit's fate). Rows
-- older than an hour are pruned by later commits.
CREATE TABLE commits (
  id uuid PRIMARY KEY,
  at bigint NOT NULL
);
CREATE INDEX commits_at ON commits (at);

-- Published rows are deleted; the bigserial keeps seqs increasing even when the table empties.
-- commit_id finds the rows of one commit again (its fate, above): only after a lost
-- connection, on a table that publishing keeps short, so without an index.
CREATE TABLE outbox (
  seq             bigserial PRIMARY KEY,
  saga_id         text NOT NULL,
  partition       integer NOT NULL,
  commit_id       uuid NOT NULL,
  message_id      text NOT NULL,
  kind            text NOT NULL,
  type            text NOT NULL,
  destination     text NOT NULL,
  correlation_id  text NOT NULL,
  reply_to        text NOT NULL,
  causation_id    text NOT NULL,
  idempotency_key text NOT NULL,
  outcome         text NOT NULL,
  error_code      text NOT NULL,
  flow            text NOT NULL,
  step            text NOT NULL,
  attempt         bigint NOT NULL,
  traceparent     text NOT NULL,
  body            text NOT NULL
);
CREATE INDEX outbox_partition ON outbox (partition, seq);

CREATE TABLE timers (
  saga_id   text COLLATE "C" NOT NULL,
  key       text COLLATE "C" NOT NULL,
  due       bigint NOT NULL,
  partition integer NOT NULL,
  PRIMARY KEY (saga_id, key)
);
-- "ORDER BY due, saga_id, key" without a sort, for all partitions and for some.
CREATE INDEX timers_due ON timers (due, saga_id, key);
CREATE INDEX timers_partition_due ON timers (partition, due);

CREATE TABLE subscriptions (
  event   text COLLATE "C" NOT NULL,
  key     text COLLATE "C" NOT NULL,
  saga_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (event, key)
);

CREATE TABLE flow_definitions (
  name        text COLLATE "C" NOT NULL,
  version     integer NOT NULL,
  source      text NOT NULL,
  deployed_at bigint NOT NULL,
  PRIMARY KEY (name, version)
);

-- Several orchestrators: who is alive, and who holds which partition under which epoch. Times
-- are the database server's clock (milliseconds), so that skewed machines agree on expiry. A
-- lease row is never deleted: its epoch only grows, over every change of owner.
CREATE TABLE orchestrators (
  owner       text COLLATE "C" PRIMARY KEY,
  alive_until bigint NOT NULL
);
CREATE TABLE partition_leases (
  partition  integer PRIMARY KEY,
  owner      text COLLATE "C" NOT NULL,  -- '' = free
  epoch      bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX partition_leases_owner ON partition_leases (owner, partition);

-- The refusals the store maps to its port's exceptions, raised with SQLSTATEs of their own.
CREATE FUNCTION sagaflow_version_conflict(saga_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'SF001', MESSAGE = format('version conflict on saga %s', saga_id);
END
$$;

-- Fencing by the database itself: a saga write carrying a lease epoch is refused unless that
-- epoch is the partition's current one. The lease row is read FOR SHARE, so a takeover (which
-- updates the row to bump the epoch) waits for the writes that passed this check, and the writes
-- after it see the new epoch. Epoch 0 (a single orchestrator, no leases) is accepted only on a
-- partition that no orchestrator has ever leased.
CREATE FUNCTION sagaflow_check_lease() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  held bigint;
BEGIN
  SELECT epoch INTO held FROM partition_leases WHERE partition = NEW.partition FOR SHARE;
  IF (NEW.lease_epoch = 0 AND FOUND) OR (NEW.lease_epoch <> 0 AND (NOT FOUND OR held <> NEW.lease_epoch)) THEN
    RAISE EXCEPTION USING ERRCODE = 'SF002',
      MESSAGE = format('lease on partition %s epoch %s is no longer held', NEW.partition, NEW.lease_epoch);
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER sagas_fencing BEFORE INSERT OR UPDATE ON sagas
  FOR EACH ROW EXECUTE FUNCTION sagaflow_check_lease();
)sql",
    // 2: room on each page for a saga's next versions. Most transitions change only version,
    // state and updated_at, none of them indexed: with free space on the page PostgreSQL writes
    // the new version there and touches no index (a HOT update). Full pages (the default
    // fillfactor of 100) made every transition rewrite all nine of the saga's index entries.
    // Timers are set and cleared at every step: the same holds for them.
    R"sql(
ALTER TABLE sagas SET (fillfactor = 50);
ALTER TABLE timers SET (fillfactor = 70);
)sql",
    // 3: an attempt's timer starts when the transport confirms its command: until then its due
    // is the far future (never due) and it remembers the command and how long it will run. With
    // a constant default, adding the columns rewrites nothing.
    R"sql(
ALTER TABLE timers ADD COLUMN started_by text COLLATE "C" NOT NULL DEFAULT '',
                   ADD COLUMN runs_for bigint NOT NULL DEFAULT 0;
)sql",
    // 4: the counts per flow and status (the dashboard's), kept as sagas are written or removed
    // so that reading them is not a scan of every saga. Statement triggers with transition
    // tables: commit() writes all of a round's sagas in one statement per kind, so a round adds
    // one row write per (flow, status) it changed, not one per saga. Rows are per partition too:
    // orchestrators that share the sagas never write the same count row (no lock between them).
    R"sql(
CREATE TABLE saga_counts (
  flow      text COLLATE "C" NOT NULL,
  status    text COLLATE "C" NOT NULL,
  partition integer NOT NULL,
  count     bigint NOT NULL,
  PRIMARY KEY (flow, status, partition)
);
INSERT INTO saga_counts (flow, status, partition, count)
  SELECT flow, status, partition, count(*) FROM sagas GROUP BY flow, status, partition;
CREATE FUNCTION sagaflow_count_sagas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO saga_counts AS c (flow, status, partition, count)
      SELECT flow, status, partition, count(*) FROM new_rows
      GROUP BY flow, status, partition ORDER BY flow, status, partition
      ON CONFLICT (flow, status, partition) DO UPDATE SET count = c.count + EXCLUDED.count;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO saga_counts AS c (flow, status, partition, count)
      SELECT flow, status, partition, sum(delta) FROM (
        SELECT flow, status, partition, 1 AS delta FROM new_rows
        UNION ALL SELECT flow, status, partition, -1 FROM old_rows) d
      GROUP BY flow, status, partition HAVING sum(delta) <> 0
      ORDER BY flow, status, partition
      ON CONFLICT (flow, status, partition) DO UPDATE SET count = c.count + EXCLUDED.count;
  ELSE
    INSERT INTO saga_counts AS c (flow, status, partition, count)
      SELECT flow, status, partition, -count(*) FROM old_rows
      GROUP BY flow, status, partition ORDER BY flow, status, partition
      ON CONFLICT (flow, status, partition) DO UPDATE SET count = c.count + EXCLUDED.count;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sagas_count_insert AFTER INSERT ON sagas REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_count_sagas();
CREATE TRIGGER sagas_count_update AFTER UPDATE ON sagas
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_count_sagas();
CREATE TRIGGER sagas_count_delete AFTER DELETE ON sagas REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_count_sagas();
)sql",
    // 5: the operators' audit log and the paused flows (pause and resume, bulk actions). Written
    // to stand alone (IF NOT EXISTS, nothing it depends on but itself), so that migrations of
    // other features may come before or after it.
    R"sql(
CREATE TABLE IF NOT EXISTS audit_log (
  seq           bigserial PRIMARY KEY,
  at            bigint NOT NULL,
  actor         text NOT NULL,
  action        text NOT NULL,
  reason        text NOT NULL,
  request       text NOT NULL,
  result_status integer NOT NULL,
  result        text NOT NULL
);
CREATE TABLE IF NOT EXISTS paused_flows (
  flow text COLLATE "C" PRIMARY KEY
);
)sql",
    // 6: where each orchestrator's admin endpoint answers (sagaflowd --admin-advertise-url), so
    // that the others forward an operator's request for a saga of its partitions there. A table
    // of its own, created only if absent: it depends on no other migration's objects.
    R"sql(
CREATE TABLE IF NOT EXISTS orchestrator_admin_urls (
  owner      text COLLATE "C" PRIMARY KEY,
  admin_url  text NOT NULL,
  updated_at bigint NOT NULL
);
)sql",
    // 7: the deployed schedules, each with its last firing (docs/schedules.md). Self-contained
    // (IF NOT EXISTS, nothing it depends on but itself), so that it may be renumbered among
    // other features' migrations.
    R"sql(
CREATE TABLE IF NOT EXISTS schedules (
  name         text COLLATE "C" PRIMARY KEY,
  flow         text NOT NULL,
  cron         text NOT NULL,
  zone         text NOT NULL,
  overlap      text NOT NULL,
  input        text NOT NULL,
  paused       boolean NOT NULL,
  deployed_at  bigint NOT NULL,
  last_fire    bigint,
  last_outcome text NOT NULL,
  last_saga    text NOT NULL
);
)sql",
    // 8: removals are counted on count rows of their own. Retention removes finished sagas, and
    // the orchestrator's commits finish sagas of the same flow and status: both wrote the same
    // saga_counts row, so a commit that finished a saga waited for the row lock that a
    // retention batch held until its own (large) commit was flushed. A removal of partition p's
    // sagas now counts on the row of partition -1 - p, which no insert or update writes; the
    // counts are summed over every row of a flow and status, so what they say is unchanged.
    // Written to run again harmlessly (OR REPLACE, IF EXISTS).
    R"sql(
CREATE OR REPLACE FUNCTION sagaflow_count_removed_sagas() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO saga_counts AS c (flow, status, partition, count)
    SELECT flow, status, -1 - partition, -count(*) FROM old_rows
    GROUP BY flow, status, partition ORDER BY flow, status, partition
    ON CONFLICT (flow, status, partition) DO UPDATE SET count = c.count + EXCLUDED.count;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS sagas_count_delete ON sagas;
CREATE TRIGGER sagas_count_delete AFTER DELETE ON sagas REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION sagaflow_count_removed_sagas();
)sql",
};

// Runs one statement or several (simple protocol) and reads every result; throws on an error.
Result exec(Connection& connection, const std::string& sql, Deadline deadline) {
  connection.send_query(sql);
  Result last;
  while (Result result = connection.get_result(deadline)) {
    if (result.status() == Result::Status::error) {
      // Drain to the end, so that the connection can run the ROLLBACK.
      while (connection.get_result(deadline)) {
      }
      throw_error(result, "migrating the schema");
    }
    last = std::move(result);
  }
  return last;
}

}  // namespace

void migrate(Connection& connection) {
  // Migrations may rewrite big tables: no I/O timeout short enough to cut one off.
  const Deadline deadline = deadline_in(std::chrono::hours(24));
  exec(connection, "BEGIN", deadline);
  try {
    exec(connection, std::string("SELECT pg_advisory_xact_lock(") + kMigrationLock + ")", deadline);
    exec(connection,
         "CREATE TABLE IF NOT EXISTS schema_migrations ("
         "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
         deadline);
    Result current_result =
        exec(connection, "SELECT coalesce(max(version), 0) FROM schema_migrations", deadline);
    const auto current = static_cast<std::size_t>(current_result.int64(0, 0));
    if (current > kMigrations.size()) {
      throw Error("postgres: the database has schema version " + std::to_string(current) +
                  ", newer than this Sagaflow knows (" + std::to_string(kMigrations.size()) + ")");
    }
    for (std::size_t i = current; i < kMigrations.size(); ++i) {
      exec(connection, kMigrations[i], deadline);
      // The version is our own constant, never outside input.
      exec(connection,
           "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(i + 1) + ")",
           deadline);
    }
    exec(connection, "COMMIT", deadline);
  } catch (...) {
    if (connection.ok() && connection.transaction_status() != Connection::Transaction::idle) {
      try {
        exec(connection, "ROLLBACK", deadline);
      } catch (const Error&) {
        // The error being rethrown is the one worth reporting.
      }
    }
    throw;
  }
}

}  // namespace sagaflow::postgres
