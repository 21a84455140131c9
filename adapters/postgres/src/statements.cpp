#include "statements.hpp"

#include <array>
#include <string_view>

namespace sagaflow::postgres::sql {

// The database server's clock in milliseconds, as lease times are kept; now() is the
// transaction's start, the same for every statement of a heartbeat.
#define SF_NOW_MS "(extract(epoch FROM now()) * 1000)::bigint"
#define SF_UNFINISHED "status NOT IN ('completed', 'compensated', 'cancelled')"
#define SF_SAGA_COLUMNS                                                                       \
  "id, flow, flow_version, status, version, idempotency_key, state, created_at, updated_at, " \
  "partition"
#define SF_OUTBOX_COLUMNS                                                              \
  "seq, message_id, kind, type, destination, correlation_id, reply_to, causation_id, " \
  "idempotency_key, outcome, error_code, flow, step, attempt, traceparent, body"
// Serialises heartbeats and releases: "sflease" in ASCII, the key of no other lock.
#define SF_LEASE_LOCK "32480038349873509"

static_assert(std::string_view(kSagaColumns) == SF_SAGA_COLUMNS);
static_assert(std::string_view(kOutboxColumns) == SF_OUTBOX_COLUMNS);

const Statement begin{"sf_begin", "BEGIN"};
const Statement commit{"sf_commit", "COMMIT"};
const Statement rollback{"sf_rollback", "ROLLBACK"};

// The commit's own advisory lock (its key is the first half of the commit id): whoever finds
// the connection lost can find, and end, the server process still running the transaction.
const Statement commit_lock{"sf_commit_lock", "SELECT pg_advisory_xact_lock($1)"};
const Statement commit_mark{"sf_commit_mark",
                            "INSERT INTO commits (id, at) VALUES ($1, " SF_NOW_MS ")"};
const Statement prune_commits{"sf_prune_commits",
                              "DELETE FROM commits WHERE at < " SF_NOW_MS " - 3600000"};
// The leases a batch writes under, locked in partition order before the trigger locks them one
// by one in the order of the writes: a takeover that locks several cannot deadlock with it.
const Statement lock_leases{"sf_lock_leases",
                            "SELECT partition FROM partition_leases "
                            "WHERE partition = ANY($1::integer[]) ORDER BY partition FOR SHARE"};

// commit() is set-based: one statement per kind of change, whatever the number of writes, each
// column an array parameter (text form, array_literal.hpp) expanded by unnest; WITH ORDINALITY
// keeps the order of the writes where it matters (serials, the first refusal named).
//
// New sagas. A saga that exists already is skipped by ON CONFLICT (id) and then refused by name
// (SF001, as a stale update: VersionConflict); a used idempotency key is not an arbiter, so it
// still fails on sagas_idempotency (DuplicateIdempotencyKey). The fencing trigger fires per row.
// $1 id, $2 flow, $3 flow_version, $4 status, $5 version, $6 idempotency_key, $7 partition,
// $8 lease_epoch, $9 state, $10 created_at, $11 updated_at.
const Statement insert_sagas{
    "sf_insert_sagas",
    "WITH w AS (SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], "
    "$5::bigint[], $6::text[], $7::integer[], $8::bigint[], $9::text[], $10::bigint[], "
    "$11::bigint[]) WITH ORDINALITY AS w(id, flow, flow_version, status, version, "
    "idempotency_key, partition, lease_epoch, state, created_at, updated_at, ord)), "
    "added AS (INSERT INTO sagas (id, flow, flow_version, status, version, idempotency_key, "
    "partition, lease_epoch, state, created_at, updated_at) "
    "SELECT id, flow, flow_version, status, version, idempotency_key, partition, lease_epoch, "
    "state::jsonb, created_at, updated_at FROM w ORDER BY ord "
    "ON CONFLICT (id) DO NOTHING RETURNING id) "
    "SELECT sagaflow_version_conflict(w.id) FROM w "
    "WHERE NOT EXISTS (SELECT FROM added WHERE added.id = w.id) ORDER BY w.ord LIMIT 1"};
// Moved sagas (at most one write per saga per statement). The rows that moved are compared with
// the writes: the first write (in the batch's order) whose row did not move, a stale or unknown
// version, aborts the transaction with SF001 naming its saga.
// $1 id, $2 expected_version, $3 flow_version, $4 status, $5 version, $6 state, $7 updated_at,
// $8 lease_epoch.
const Statement update_sagas{
    "sf_update_sagas",
    "WITH w AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[], $4::text[], "
    "$5::bigint[], $6::text[], $7::bigint[], $8::bigint[]) WITH ORDINALITY AS w(id, "
    "expected_version, flow_version, status, version, state, updated_at, lease_epoch, ord)), "
    "moved AS (UPDATE sagas s SET flow_version = w.flow_version, status = w.status, "
    "version = w.version, state = w.state::jsonb, updated_at = w.updated_at, "
    "lease_epoch = w.lease_epoch FROM w "
    "WHERE s.id = w.id AND s.version = w.expected_version RETURNING s.id) "
    "SELECT sagaflow_version_conflict(w.id) FROM w "
    "WHERE NOT EXISTS (SELECT FROM moved WHERE moved.id = w.id) ORDER BY w.ord LIMIT 1"};
// $1 saga_id, $2 saga_version, $3 at, $4 kind, $5 step, $6 detail: in the order of the writes
// (the bigserial orders a saga's records).
const Statement insert_history{
    "sf_insert_history",
    "INSERT INTO history (saga_id, saga_version, at, kind, step, detail) "
    "SELECT saga_id, saga_version, at, kind, step, detail FROM unnest($1::text[], $2::bigint[], "
    "$3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY "
    "AS w(saga_id, saga_version, at, kind, step, detail, ord) ORDER BY ord"};
// $1 commit id, then one array per column. Inserted in the order of the writes, so the seqs
// returned, sorted, are the writes' seqs in their order.
const Statement insert_outbox{
    "sf_insert_outbox",
    "INSERT INTO outbox (saga_id, partition, commit_id, message_id, kind, type, destination, "
    "correlation_id, reply_to, causation_id, idempotency_key, outcome, error_code, flow, step, "
    "attempt, traceparent, body) "
    "SELECT saga_id, partition, $1::uuid, message_id, kind, type, destination, correlation_id, "
    "reply_to, causation_id, idempotency_key, outcome, error_code, flow, step, attempt, "
    "traceparent, body FROM unnest($2::text[], $3::integer[], $4::text[], $5::text[], "
    "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
    "$13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[]) "
    "WITH ORDINALITY AS w(saga_id, partition, message_id, kind, type, destination, "
    "correlation_id, reply_to, causation_id, idempotency_key, outcome, error_code, flow, step, "
    "attempt, traceparent, body, ord) ORDER BY ord RETURNING seq"};
const Statement delete_outbox{"sf_delete_outbox",
                              "DELETE FROM outbox WHERE seq = ANY($1::bigint[])"};
// Timers and subscriptions get each key's net change over the batch (computed by the store, one
// row per key), so deletes and upserts touch disjoint keys. $1 saga_id, $2 key.
const Statement clear_timers{"sf_clear_timers",
                             "DELETE FROM timers t USING unnest($1::text[], $2::text[]) "
                             "AS w(saga_id, key) WHERE t.saga_id = w.saga_id AND t.key = w.key"};
// $1 saga_id, $2 key, $3 due, $4 partition, $5 started_by, $6 runs_for.
const Statement set_timers{"sf_set_timers",
                           "INSERT INTO timers (saga_id, key, due, partition, started_by, "
                           "runs_for) "
                           "SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
                           "$4::integer[], $5::text[], $6::bigint[]) ON CONFLICT (saga_id, key) "
                           "DO UPDATE SET due = excluded.due, partition = excluded.partition, "
                           "started_by = excluded.started_by, runs_for = excluded.runs_for"};
// The attempt timers of the commands confirmed, each once (the store keeps a command's first
// confirm), after the batch's own timer changes: only a timer that still waits for that command
// starts. $1 saga_id, $2 command id, $3 confirmed at.
const Statement start_timers{"sf_start_timers",
                             "UPDATE timers t SET due = w.at + t.runs_for, started_by = '' "
                             "FROM unnest($1::text[], $2::text[], $3::bigint[]) "
                             "AS w(saga_id, command_id, at) "
                             "WHERE t.saga_id = w.saga_id AND t.started_by = w.command_id"};
// $1 event, $2 key, $3 saga_id.
const Statement subscribe{"sf_subscribe",
                          "INSERT INTO subscriptions (event, key, saga_id) "
                          "SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
                          "ON CONFLICT (event, key) DO UPDATE SET saga_id = excluded.saga_id"};
// $1 event, $2 key, $3 saga_id: the route goes only while that saga owns it; a NULL saga_id
// (the batch itself subscribed the route and unsubscribed it again) removes it whoever owns it.
const Statement unsubscribe{"sf_unsubscribe",
                            "DELETE FROM subscriptions s "
                            "USING unnest($1::text[], $2::text[], $3::text[]) "
                            "AS w(event, key, saga_id) WHERE s.event = w.event AND s.key = w.key "
                            "AND (w.saga_id IS NULL OR s.saga_id = w.saga_id)"};

// A server process that still holds the lost commit's advisory lock (a half-open connection,
// or one blocked on a lock) is ended, and waited for up to 5 s, so that its transaction is over
// (committed or rolled back) before the commit table is read.
const Statement end_zombie{
    "sf_end_zombie",
    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks "
    "WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = $1::bigint::oid AND objid = $2::bigint::oid"};
const Statement lock_timeout{"sf_lock_timeout", "SELECT set_config('lock_timeout', $1, true)"};
const Statement commit_found{"sf_commit_found", "SELECT 1 FROM commits WHERE id = $1"};
const Statement commit_outbox{"sf_commit_outbox", "SELECT " SF_OUTBOX_COLUMNS
                                                  " FROM outbox WHERE commit_id = $1 ORDER BY seq"};

const Statement load{"sf_load", "SELECT " SF_SAGA_COLUMNS " FROM sagas WHERE id = $1"};
const Statement load_unfinished{"sf_load_unfinished",
                                "SELECT " SF_SAGA_COLUMNS " FROM sagas WHERE " SF_UNFINISHED
                                " ORDER BY created_at, id"};
const Statement load_unfinished_in{"sf_load_unfinished_in",
                                   "SELECT " SF_SAGA_COLUMNS " FROM sagas WHERE " SF_UNFINISHED
                                   " AND partition = ANY($1::integer[]) ORDER BY created_at, id"};
const Statement find_by_key{"sf_find_by_key",
                            "SELECT id FROM sagas WHERE flow = $1 AND idempotency_key = $2 "
                            "AND idempotency_key <> ''"};
const Statement find_subscriber{"sf_find_subscriber",
                                "SELECT saga_id FROM subscriptions WHERE event = $1 AND key = $2"};
const Statement due_timers{"sf_due_timers",
                           "SELECT saga_id, key, due FROM timers WHERE due <= $1 "
                           "ORDER BY due, saga_id, key LIMIT $2"};
const Statement due_timers_in{"sf_due_timers_in",
                              "SELECT saga_id, key, due FROM timers WHERE due <= $1 "
                              "AND partition = ANY($3::integer[]) "
                              "ORDER BY due, saga_id, key LIMIT $2"};
const Statement unpublished{"sf_unpublished",
                            "SELECT " SF_OUTBOX_COLUMNS " FROM outbox ORDER BY seq LIMIT $1"};
const Statement unpublished_in{"sf_unpublished_in",
                               "SELECT " SF_OUTBOX_COLUMNS
                               " FROM outbox WHERE partition = ANY($2::integer[]) "
                               "ORDER BY seq LIMIT $1"};
const Statement history{"sf_history",
                        "SELECT saga_id, saga_version, at, kind, step, detail FROM history "
                        "WHERE saga_id = $1 ORDER BY id"};
const Statement counts{"sf_counts",
                       "SELECT flow, status, sum(count)::bigint FROM saga_counts "
                       "GROUP BY flow, status HAVING sum(count) > 0 ORDER BY flow, status"};
const Statement insert_flow_definition{
    "sf_insert_flow_definition",
    "INSERT INTO flow_definitions (name, version, source, deployed_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (name, version) DO NOTHING"};
const Statement flow_definition_source{
    "sf_flow_definition_source",
    "SELECT source FROM flow_definitions WHERE name = $1 AND version = $2"};
const Statement flow_definitions{"sf_flow_definitions",
                                 "SELECT name, version, source, deployed_at FROM flow_definitions "
                                 "ORDER BY name, version"};
const Statement insert_audit{
    "sf_insert_audit",
    "INSERT INTO audit_log (at, actor, action, reason, request, result_status, result) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)"};
const Statement audit{"sf_audit",
                      "SELECT seq, at, actor, action, reason, request, result_status, result "
                      "FROM audit_log WHERE $1::bigint < 0 OR seq < $1::bigint "
                      "ORDER BY seq DESC LIMIT $2"};
const Statement pause_flow{"sf_pause_flow",
                           "INSERT INTO paused_flows (flow) VALUES ($1) ON CONFLICT DO NOTHING"};
const Statement unpause_flow{"sf_unpause_flow", "DELETE FROM paused_flows WHERE flow = $1"};
const Statement paused_flows{"sf_paused_flows", "SELECT flow FROM paused_flows ORDER BY flow"};
const Statement save_schedule{
    "sf_save_schedule",
    "INSERT INTO schedules (name, flow, cron, zone, overlap, input, paused, deployed_at, "
    "last_fire, last_outcome, last_saga) VALUES ($1, $2, $3, $4, $5, $6, false, $7, NULL, '', '') "
    "ON CONFLICT (name) DO UPDATE SET flow = $2, cron = $3, zone = $4, overlap = $5, input = $6"};
const Statement schedules{"sf_schedules",
                          "SELECT name, flow, cron, zone, overlap, input, paused, deployed_at, "
                          "last_fire, last_outcome, last_saga FROM schedules ORDER BY name"};
const Statement pause_schedule{"sf_pause_schedule",
                               "UPDATE schedules SET paused = $2::boolean WHERE name = $1"};
const Statement remove_schedule{"sf_remove_schedule", "DELETE FROM schedules WHERE name = $1"};
// Only a later firing: two orchestrators recording the same one, or an older one late, change
// nothing.
const Statement record_schedule_fire{
    "sf_record_schedule_fire",
    "UPDATE schedules SET last_fire = $2, last_outcome = $3, last_saga = $4 "
    "WHERE name = $1 AND (last_fire IS NULL OR last_fire < $2)"};

// Retention. Its statements are planned at each run (a batch's planning is under a millisecond):
// the timers and the outbox swing between empty and thousands of rows with the load, and the
// plan a prepared statement kept from an empty timers table read the whole table for each saga
// of a batch (500 scans of 3,000 pages: 2.4 s of the server's CPU for a batch of 500).
// Finished sagas of one flow and status changed before $3, in the partitions $4 (all
// when empty), that no timer names. The index on (flow, status, created_at, id) serves the range
// and the order: updated_at >= created_at, so created_at < $3 bounds the scan, and updated_at is
// only filtered (an index on it would cost every transition its HOT update, migration 2).
#define SF_FINISHED_RANGE                                                             \
  "WHERE s.flow = $1 AND s.status = $2 AND s.status IN ('completed', 'compensated', " \
  "'cancelled') AND s.created_at < $3 AND s.updated_at < $3 "                         \
  "AND (cardinality($4::integer[]) = 0 OR s.partition = ANY($4::integer[])) "         \
  "AND NOT EXISTS (SELECT FROM timers t WHERE t.saga_id = s.id) "
// The outbox and the subscriptions have no index on saga_id (one would cost every commit). Which
// of a batch's sagas they name is one hash join of the batch against each table, read once,
// whatever its size: written as a join of the batch, not as NOT EXISTS per saga, which the
// planner ran as a scan of the whole outbox for every saga (a busy outbox of 6,000 rows made a
// batch of 500 take 1.4 s of the server's CPU instead of 0.1 s).
#define SF_NAMED_AMONG(batch)                           \
  "SELECT o.saga_id COLLATE \"C\" AS id FROM outbox o " \
  "JOIN " batch                                         \
  " x ON o.saga_id COLLATE \"C\" = x.id "               \
  "UNION SELECT b.saga_id FROM subscriptions b JOIN " batch " x ON b.saga_id = x.id"
// $5, $6: the cursor (after the last saga of the page before; the smallest bigint for none). A
// page of candidates, each with whether an outbox row or a subscription names it: the store
// leaves those out and reads on until it has a page of the others.
const Statement finished{
    "sf_finished",
    "WITH candidate AS MATERIALIZED (SELECT " SF_SAGA_COLUMNS " FROM sagas s " SF_FINISHED_RANGE
    "AND (s.created_at, s.id) > ($5, $6) ORDER BY s.created_at, s.id LIMIT $7), "
    "named AS MATERIALIZED (" SF_NAMED_AMONG("candidate") ") "
    "SELECT " SF_SAGA_COLUMNS ", EXISTS (SELECT FROM named n WHERE n.id = c.id) "
    "FROM candidate c ORDER BY created_at, id",
    /*planned_each_run=*/true};
// For a count the planner hashes both tables itself (it expects many rows).
const Statement count_finished{
    "sf_count_finished",
    "SELECT count(*), min(s.updated_at) FROM sagas s " SF_FINISHED_RANGE
    "AND NOT EXISTS (SELECT FROM subscriptions b WHERE b.saga_id = s.id) "
    "AND NOT EXISTS (SELECT FROM outbox o WHERE o.saga_id COLLATE \"C\" = s.id)",
    /*planned_each_run=*/true};
// $1 id, $2 version. One statement, one short transaction: the sagas still at that version,
// finished and named by nothing are locked (those the orchestrator holds are skipped, never
// waited for), then go with their history.
const Statement remove_finished{
    "sf_remove_finished",
    "WITH w AS MATERIALIZED (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(id, version)), "
    "named AS MATERIALIZED (" SF_NAMED_AMONG("w") "), "
    "doomed AS (SELECT s.id FROM sagas s JOIN w ON s.id = w.id AND s.version = w.version "
    "WHERE s.status IN ('completed', 'compensated', 'cancelled') "
    "AND NOT EXISTS (SELECT FROM timers t WHERE t.saga_id = s.id) "
    "AND NOT EXISTS (SELECT FROM named n WHERE n.id = s.id) "
    "FOR UPDATE OF s SKIP LOCKED), "
    "history_gone AS (DELETE FROM history h USING doomed d WHERE h.saga_id = d.id RETURNING 1), "
    "sagas_gone AS (DELETE FROM sagas s USING doomed d WHERE s.id = d.id RETURNING 1) "
    "SELECT (SELECT count(*) FROM sagas_gone), (SELECT count(*) FROM history_gone)",
    /*planned_each_run=*/true};

// One heartbeat is one transaction of these, in this order, serialised with every other
// heartbeat by an advisory lock: the fair share is computed from a stable set of owners.
const Statement heartbeat_lock{"sf_heartbeat_lock",
                               "SELECT pg_advisory_xact_lock(" SF_LEASE_LOCK ")"};
// $1 owner, $2 ttl (ms).
const Statement heartbeat_alive{"sf_heartbeat_alive",
                                "INSERT INTO orchestrators (owner, alive_until) "
                                "VALUES ($1, " SF_NOW_MS
                                " + $2) ON CONFLICT (owner) "
                                "DO UPDATE SET alive_until = excluded.alive_until"};
const Statement heartbeat_prune{
    "sf_heartbeat_prune", "DELETE FROM orchestrators WHERE alive_until < " SF_NOW_MS " - 3600000"};
// $1 partition count: every partition gets its lease row, free, at the first heartbeat.
const Statement heartbeat_rows{"sf_heartbeat_rows",
                               "INSERT INTO partition_leases (partition, owner, epoch, expires_at) "
                               "SELECT p, '', 0, 0 FROM generate_series(0, $1::integer - 1) AS p "
                               "ON CONFLICT (partition) DO NOTHING"};
// $1 owner, $2 ttl (ms), $3 partition count.
const Statement heartbeat_renew{"sf_heartbeat_renew",
                                "UPDATE partition_leases SET expires_at = " SF_NOW_MS
                                " + $2 "
                                "WHERE owner = $1 AND partition < $3"};
// $1 owner, $2 partition count: partitions beyond the count (it shrank) are given up.
const Statement heartbeat_out_of_range{"sf_heartbeat_out_of_range",
                                       "UPDATE partition_leases "
                                       "SET owner = '', epoch = epoch + 1, expires_at = 0 "
                                       "WHERE owner = $1 AND partition >= $2"};
// $1 owner, $2 partition count. The fair share is the partitions over the owners alive (this
// one always counts), rounded up; the owner's partitions above it (its highest) go free.
const Statement heartbeat_give_up{
    "sf_heartbeat_give_up",
    "WITH share AS (SELECT ($2::integer + count(*) - 1) / count(*) AS n FROM orchestrators "
    "WHERE alive_until > " SF_NOW_MS
    " OR owner = $1), "
    "extra AS (SELECT partition FROM (SELECT partition, row_number() OVER (ORDER BY partition) AS "
    "i "
    "FROM partition_leases WHERE owner = $1) AS mine WHERE i > (SELECT n FROM share)) "
    "UPDATE partition_leases SET owner = '', epoch = epoch + 1, expires_at = 0 "
    "WHERE partition IN (SELECT partition FROM extra)"};
// $1 owner, $2 partition count, $3 ttl (ms). Free and expired partitions, lowest first, up to
// the fair share; every change of owner bumps the epoch.
const Statement heartbeat_take{
    "sf_heartbeat_take",
    "WITH share AS (SELECT ($2::integer + count(*) - 1) / count(*) AS n FROM orchestrators "
    "WHERE alive_until > " SF_NOW_MS
    " OR owner = $1), "
    "held AS (SELECT count(*) AS n FROM partition_leases WHERE owner = $1), "
    "wanted AS (SELECT partition FROM partition_leases WHERE partition < $2 AND owner <> $1 "
    "AND (owner = '' OR expires_at <= " SF_NOW_MS
    ") ORDER BY partition "
    "LIMIT (SELECT greatest(share.n - held.n, 0) FROM share, held) FOR UPDATE) "
    "UPDATE partition_leases AS l SET owner = $1, epoch = l.epoch + 1, "
    "expires_at = " SF_NOW_MS " + $3 FROM wanted WHERE l.partition = wanted.partition"};
const Statement heartbeat_held{"sf_heartbeat_held",
                               "SELECT partition, epoch FROM partition_leases WHERE owner = $1 "
                               "ORDER BY partition"};
// $1 owner. Released partitions go free with a bumped epoch: the owner's late writes are
// refused.
const Statement release_leases{
    "sf_release_leases",
    "UPDATE partition_leases "
    "SET owner = '', epoch = epoch + 1, expires_at = 0 WHERE owner = $1"};
const Statement release_owner{"sf_release_owner", "DELETE FROM orchestrators WHERE owner = $1"};
// $1 owner, $2 its admin URL.
const Statement advertise_admin_url{
    "sf_advertise_admin_url",
    "INSERT INTO orchestrator_admin_urls (owner, admin_url, updated_at) VALUES ($1, $2, " SF_NOW_MS
    ") ON CONFLICT (owner) DO UPDATE SET admin_url = excluded.admin_url, "
    "updated_at = excluded.updated_at"};
// $1 partition: its owner while the lease runs, and where that owner's admin endpoint answers.
const Statement partition_owner{
    "sf_partition_owner",
    "SELECT l.owner, coalesce(a.admin_url, '') FROM partition_leases l "
    "LEFT JOIN orchestrator_admin_urls a ON a.owner = l.owner "
    "WHERE l.partition = $1 AND l.owner <> '' AND l.expires_at > " SF_NOW_MS};

std::span<const Statement* const> all() {
  static const std::array statements = {
      &begin,
      &commit,
      &rollback,
      &commit_lock,
      &commit_mark,
      &prune_commits,
      &lock_leases,
      &insert_sagas,
      &update_sagas,
      &insert_history,
      &insert_outbox,
      &delete_outbox,
      &clear_timers,
      &set_timers,
      &start_timers,
      &subscribe,
      &unsubscribe,
      &end_zombie,
      &lock_timeout,
      &commit_found,
      &commit_outbox,
      &load,
      &load_unfinished,
      &load_unfinished_in,
      &find_by_key,
      &find_subscriber,
      &due_timers,
      &due_timers_in,
      &unpublished,
      &unpublished_in,
      &history,
      &counts,
      &insert_flow_definition,
      &flow_definition_source,
      &flow_definitions,
      &insert_audit,
      &audit,
      &pause_flow,
      &unpause_flow,
      &paused_flows,
      &save_schedule,
      &schedules,
      &pause_schedule,
      &remove_schedule,
      &record_schedule_fire,
      &finished,
      &count_finished,
      &remove_finished,
      &heartbeat_lock,
      &heartbeat_alive,
      &heartbeat_prune,
      &heartbeat_rows,
      &heartbeat_renew,
      &heartbeat_out_of_range,
      &heartbeat_give_up,
      &heartbeat_take,
      &heartbeat_held,
      &release_leases,
      &release_owner,
      &advertise_admin_url,
      &partition_owner,
  };
  return statements;
}

}  // namespace sagaflow::postgres::sql
