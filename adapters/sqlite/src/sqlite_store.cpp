#include "sagaflow/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "checkpointer.hpp"
#include "connection.hpp"
#include "sagaflow/json.hpp"
#include "schema.hpp"
#include "statement.hpp"

namespace sagaflow::sqlite {

namespace {

constexpr auto kBusyTimeout = std::chrono::milliseconds(5000);

constexpr const char* kSagaColumns =
    "id, flow, flow_version, status, version, idempotency_key, state, created_at, updated_at, "
    "partition";

std::string saga_select(const char* where_and_order) {
  return std::string("SELECT ") + kSagaColumns + " FROM sagas " + where_and_order;
}

SagaRow read_saga(const Statement& s) {
  SagaRow row;
  row.id = s.column_text(0);
  row.flow = s.column_text(1);
  row.flow_version = static_cast<int>(s.column_int64(2));
  row.status = s.column_text(3);
  row.version = static_cast<std::uint64_t>(s.column_int64(4));
  row.idempotency_key = s.column_text(5);
  row.state = s.column_text(6);
  row.created_at = from_millis(s.column_int64(7));
  row.updated_at = from_millis(s.column_int64(8));
  row.partition = static_cast<int>(s.column_int64(9));
  return row;
}

constexpr const char* kOutboxColumns =
    "seq, message_id, kind, type, destination, correlation_id, reply_to, causation_id, "
    "idempotency_key, outcome, error_code, flow, step, attempt, traceparent, body";

MessageKind parse_kind(const std::string& text) {
  if (text == "reply") return MessageKind::reply;
  if (text == "event") return MessageKind::event;
  return MessageKind::command;
}

ReplyOutcome parse_outcome(const std::string& text) {
  if (text == "business_failure") return ReplyOutcome::business_failure;
  if (text == "technical_error") return ReplyOutcome::technical_error;
  return ReplyOutcome::success;
}

OutboxRow read_outbox(const Statement& s) {
  OutboxRow row;
  row.seq = static_cast<std::uint64_t>(s.column_int64(0));
  Message& m = row.message;
  m.id = s.column_text(1);
  m.kind = parse_kind(s.column_text(2));
  m.type = s.column_text(3);
  m.destination = s.column_text(4);
  m.correlation_id = s.column_text(5);
  m.reply_to = s.column_text(6);
  m.causation_id = s.column_text(7);
  m.idempotency_key = s.column_text(8);
  m.outcome = parse_outcome(s.column_text(9));
  m.error_code = s.column_text(10);
  m.flow = s.column_text(11);
  m.step = s.column_text(12);
  m.attempt = static_cast<std::uint32_t>(s.column_int64(13));
  m.traceparent = s.column_text(14);
  m.body = s.column_text(15);
  return row;
}

std::int64_t sql_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

// Retention's queries (finished, count_finished): a finished saga of one flow and status,
// changed before ?3, in the given partitions (?4, a JSON array; '[]' = all), that no timer,
// subscription or outbox row names. The NOT IN subqueries are computed once per statement,
// not per row (neither table has an index on saga_id).
constexpr const char* kFinishedWhere =
    "WHERE flow = ?1 AND status = ?2 AND status IN ('completed', 'compensated', 'cancelled') "
    "AND created_at < ?3 AND updated_at < ?3 "
    "AND (?4 = '[]' OR partition IN (SELECT value FROM json_each(?4))) "
    "AND NOT EXISTS (SELECT 1 FROM timers WHERE timers.saga_seq = sagas.seq) "
    "AND id NOT IN (SELECT saga_id FROM subscriptions) "
    "AND id NOT IN (SELECT saga_id FROM outbox) ";

std::string json_partitions(const std::vector<int>& partitions) {
  std::string text = "[";
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(partitions[i]);
  }
  return text + "]";
}

// Every statement the store runs, prepared once when the store opens.
struct Statements {
  explicit Statements(sqlite3* db)
      : begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        insert_saga(db,
                    "INSERT INTO sagas (id, flow, flow_version, status, version, idempotency_key, "
                    "state, created_at, updated_at, partition) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        update_saga(db,
                    "UPDATE sagas SET flow_version = ?, status = ?, version = ?, state = ?, "
                    "updated_at = ? WHERE id = ? AND version = ? RETURNING seq"),
        saga_exists(db, "SELECT 1 FROM sagas WHERE id = ?"),
        insert_history(db,
                       "INSERT INTO history (saga_seq, saga_id, saga_version, at, kind, "
                       "step, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        insert_outbox(db,
                      "INSERT INTO outbox (saga_id, message_id, kind, type, destination, "
                      "correlation_id, reply_to, causation_id, idempotency_key, outcome, "
                      "error_code, flow, step, attempt, traceparent, body) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        delete_outbox(db, "DELETE FROM outbox WHERE seq = ?"),
        set_timer(db,
                  "INSERT INTO timers (saga_seq, saga_id, key, due, started_by, runs_for) "
                  "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (saga_seq, key) DO UPDATE SET "
                  "due = excluded.due, started_by = excluded.started_by, "
                  "runs_for = excluded.runs_for"),
        start_timer(db,
                    "UPDATE timers SET due = ?1 + runs_for, started_by = '' "
                    "WHERE saga_seq = (SELECT seq FROM sagas WHERE id = ?2) AND started_by = ?3"),
        clear_timer(db, "DELETE FROM timers WHERE saga_seq = ? AND key = ?"),
        subscribe(db,
                  "INSERT OR REPLACE INTO subscriptions (event, key, saga_id) VALUES (?, ?, ?)"),
        unsubscribe(db, "DELETE FROM subscriptions WHERE event = ? AND key = ? AND saga_id = ?"),
        load(db, saga_select("WHERE id = ?")),
        load_unfinished(db,
                        saga_select("WHERE status NOT IN ('completed', 'compensated', 'cancelled') "
                                    "ORDER BY created_at, id")),
        find_by_key(db,
                    "SELECT id FROM sagas WHERE flow = ? AND idempotency_key = ? "
                    "AND idempotency_key <> ''"),
        find_subscriber(db, "SELECT saga_id FROM subscriptions WHERE event = ? AND key = ?"),
        due_timers(db,
                   "SELECT saga_id, key, due FROM timers WHERE due <= ? "
                   "ORDER BY due, saga_id, key LIMIT ?"),
        unpublished(db,
                    std::string("SELECT ") + kOutboxColumns + " FROM outbox ORDER BY seq LIMIT ?"),
        history(db,
                "SELECT saga_id, saga_version, at, kind, step, detail FROM history "
                "WHERE saga_seq = (SELECT seq FROM sagas WHERE id = ?) ORDER BY id"),
        count_by_flow_and_status(db,
                                 "SELECT flow, status, count FROM saga_counts "
                                 "WHERE count > 0 ORDER BY flow, status"),
        insert_flow_definition(db,
                               "INSERT INTO flow_definitions (name, version, source, deployed_at) "
                               "VALUES (?, ?, ?, ?) ON CONFLICT (name, version) DO NOTHING"),
        flow_definition_source(
            db, "SELECT source FROM flow_definitions WHERE name = ? AND version = ?"),
        flow_definitions(db,
                         "SELECT name, version, source, deployed_at FROM flow_definitions "
                         "ORDER BY name, version"),
        finished(db,
                 saga_select((std::string(kFinishedWhere) +
                              "AND (?5 = 0 OR created_at > ?6 OR (created_at = ?6 AND id > ?7)) "
                              "ORDER BY created_at, id LIMIT ?8")
                                 .c_str())),
        count_finished(db,
                       std::string("SELECT count(*), coalesce(min(updated_at), 0) FROM sagas ") +
                           kFinishedWhere),
        // Which sagas of a batch (?1, a JSON array of ids) an outbox row or a subscription names:
        // each table scanned once against the batch. Asked per saga (NOT EXISTS in the DELETE),
        // SQLite scanned both whole for every saga, under the write lock the orchestrator's
        // commits wait for (neither table has an index on saga_id: one would cost every commit).
        named_among(db,
                    "SELECT saga_id FROM outbox WHERE saga_id IN (SELECT value FROM json_each(?1)) "
                    "UNION SELECT saga_id FROM subscriptions "
                    "WHERE saga_id IN (SELECT value FROM json_each(?1))"),
        remove_finished(db,
                        "DELETE FROM sagas WHERE id = ? AND version = ? "
                        "AND status IN ('completed', 'compensated', 'cancelled') "
                        "AND NOT EXISTS (SELECT 1 FROM timers WHERE timers.saga_seq = sagas.seq) "
                        "RETURNING seq"),
        remove_history(db, "DELETE FROM history WHERE saga_seq = ?"),
        insert_audit(db,
                     "INSERT INTO audit_log (at, actor, action, reason, request, result_status, "
                     "result) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        audit(db,
              "SELECT seq, at, actor, action, reason, request, result_status, result "
              "FROM audit_log WHERE ?1 < 0 OR seq < ?1 ORDER BY seq DESC LIMIT ?2"),
        pause_flow(db, "INSERT INTO paused_flows (flow) VALUES (?) ON CONFLICT (flow) DO NOTHING"),
        unpause_flow(db, "DELETE FROM paused_flows WHERE flow = ?"),
        paused_flows(db, "SELECT flow FROM paused_flows ORDER BY flow"),
        save_schedule(db,
                      "INSERT INTO schedules (name, flow, cron, zone, overlap, input, paused, "
                      "deployed_at, last_fire, last_outcome, last_saga) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, NULL, '', '') ON CONFLICT (name) DO "
                      "UPDATE SET flow = ?2, cron = ?3, zone = ?4, overlap = ?5, input = ?6"),
        schedules(db,
                  "SELECT name, flow, cron, zone, overlap, input, paused, deployed_at, "
                  "coalesce(last_fire, -1), last_fire IS NULL, last_outcome, last_saga "
                  "FROM schedules ORDER BY name"),
        pause_schedule(db, "UPDATE schedules SET paused = ?2 WHERE name = ?1"),
        remove_schedule(db, "DELETE FROM schedules WHERE name = ?"),
        record_schedule_fire(db,
                             "UPDATE schedules SET last_fire = ?2, last_outcome = ?3, "
                             "last_saga = ?4 WHERE name = ?1 "
                             "AND (last_fire IS NULL OR last_fire < ?2)") {}

  Statement begin, commit, rollback;
  Statement insert_saga, update_saga, saga_exists, insert_history, insert_outbox, delete_outbox;
  Statement set_timer, start_timer, clear_timer, subscribe, unsubscribe;
  Statement load, load_unfinished, find_by_key, find_subscriber, due_timers, unpublished, history;
  Statement count_by_flow_and_status, insert_flow_definition, flow_definition_source;
  Statement flow_definitions;
  Statement finished, count_finished, named_among, remove_finished, remove_history;
  Statement insert_audit, audit, pause_flow, unpause_flow, paused_flows;
  Statement save_schedule, schedules, pause_schedule, remove_schedule, record_schedule_fire;
};

// The list query for one filter shape (which fields are set), built from constant fragments
// only: values are always bound. One statement per shape, so that each can use its index (an
// "? = '' OR" condition would not).
constexpr unsigned kFlow = 1, kStatus = 2, kKey = 4, kFrom = 8, kBefore = 16, kAfter = 32,
                   kIdPrefix = 64;

unsigned list_shape(const SagaFilter& f) {
  return (f.flow.empty() ? 0u : kFlow) | (f.status.empty() ? 0u : kStatus) |
         (f.key.empty() ? 0u : kKey) | (f.created_from ? kFrom : 0u) |
         (f.created_before ? kBefore : 0u) | (f.after ? kAfter : 0u) |
         (f.id_prefix.empty() ? 0u : kIdPrefix);
}

std::string list_sql(unsigned shape) {
  std::string where;
  auto add = [&where](const char* condition) {
    where += where.empty() ? "WHERE " : " AND ";
    where += condition;
  };
  if (shape & kFlow) add("flow = ?");
  if (shape & kStatus) add("status = ?");
  if (shape & kKey) add("idempotency_key = ?");
  if (shape & kFrom) add("created_at >= ?");
  if (shape & kBefore) add("created_at < ?");
  if (shape & kAfter) add("(created_at < ? OR (created_at = ? AND id < ?))");
  if (shape & kIdPrefix) add("id >= ? AND id < ?");  // BINARY collation: byte order
  return saga_select((where + " ORDER BY created_at DESC, id DESC LIMIT ?").c_str());
}

void run(Statement& statement) {
  Use use(statement);
  use->step();
}

}  // namespace

struct SqliteStore::Impl {
  explicit Impl(const SqliteOptions& options) : connection(options.path) {
    connection.busy_timeout(kBusyTimeout);
    // WAL: readers (the admin endpoint, sagactl) never block the writer, and a commit is one
    // sequential append. ":memory:" databases ignore it.
    connection.exec("PRAGMA journal_mode = WAL");
    // FULL syncs the WAL at every commit: a committed transition survives a power loss, which
    // the rule that loses nothing needs before the outbox is published. NORMAL may lose the
    // last commits on power loss but never corrupts.
    connection.exec(synchronous_pragma(options));
    // A group commit touches a few pages of every index per saga; with SQLite's default 2 MiB
    // cache they are evicted and re-read within one transaction. 64 MiB keeps the hot part of the
    // indexes of a few hundred thousand sagas in memory.
    connection.exec("PRAGMA cache_size = -65536");
    // A statement that may fail halfway (a trigger, a unique index) copies each page it changes
    // into a statement journal first, so that it can be undone alone; by default that journal is
    // a temporary file, written with a system call per page. Inserting a saga (its counts'
    // trigger) took 40 us with that file, 19 us with the journal in memory; the embedded bench
    // ran 1.03-1.20x the sagas/s with a quarter less system time (README). The journal lives
    // only within one statement and holds nothing a crash needs.
    connection.exec("PRAGMA temp_store = MEMORY");
    // The WAL is copied into the database (a checkpoint) on a thread of the store's own once it
    // holds options.checkpoint_pages (checkpointer.hpp); SQLite's auto-checkpoint did it inside
    // the commit that took the log past its limit. Set below, once the schema is migrated. The
    // size limit gives the file back its space when the log restarts after a checkpoint.
    connection.exec("PRAGMA journal_size_limit = 67108864");
    migrate(connection);
    statements = std::make_unique<Statements>(connection.get());
    if (options.path != ":memory:" && !options.path.empty()) {
      checkpointer = std::make_unique<Checkpointer>(options.path, synchronous_pragma(options),
                                                    options.checkpoint_pages);
      checkpointer->attach(connection);
    }
  }

  static const char* synchronous_pragma(const SqliteOptions& options) {
    return options.durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
  }

  // Inside an open transaction: writes the batch, returns the outbox rows with their seqs.
  std::vector<OutboxRow> write(const CommitBatch& batch) {
    Statements& st = *statements;
    std::vector<OutboxRow> written;
    for (const SagaWrite& w : batch.writes) {
      const std::int64_t seq = write_saga(w);
      const SagaRow& s = w.saga;
      for (const HistoryRow& h : w.history) {
        Use use(st.insert_history);
        use->bind_all(seq, s.id, static_cast<std::int64_t>(h.saga_version), to_millis(h.at), h.kind,
                      h.step, h.detail);
        use->step();
      }
      for (const Message& m : w.outbox) {
        {
          Use use(st.insert_outbox);
          use->bind_all(s.id, m.id, to_string(m.kind), m.type, m.destination, m.correlation_id,
                        m.reply_to, m.causation_id, m.idempotency_key, to_string(m.outcome),
                        m.error_code, m.flow, m.step, static_cast<std::int64_t>(m.attempt),
                        m.traceparent, m.body);
          use->step();
        }
        written.push_back(OutboxRow{static_cast<std::uint64_t>(connection.last_insert_rowid()), m});
      }
      // Cleared before set: a transition that re-arms a timer may list its key in both.
      for (const std::string& key : w.timers_cleared) {
        Use use(st.clear_timer);
        use->bind_all(seq, key);
        use->step();
      }
      for (const TimerRow& t : w.timers_set) {
        Use use(st.set_timer);
        use->bind_all(seq, s.id, t.key, to_millis(stored_due(t)), t.started_by,
                      static_cast<std::int64_t>(t.runs_for.count()));
        use->step();
      }
      // A saga removes only its own subscriptions: one that another saga has since taken over
      // stays.
      for (const Subscription& sub : w.unsubscribe) {
        Use use(st.unsubscribe);
        use->bind_all(sub.event, sub.key, s.id);
        use->step();
      }
      for (const Subscription& sub : w.subscribe) {
        Use use(st.subscribe);
        use->bind_all(sub.event, sub.key, s.id);
        use->step();
      }
    }
    for (std::uint64_t seq : batch.published) {
      Use use(st.delete_outbox);
      use->bind_all(static_cast<std::int64_t>(seq));
      use->step();
    }
    // After the writes: only a timer that still waits for the command starts.
    for (const CommandSent& c : batch.sent) {
      Use use(st.start_timer);
      use->bind_all(to_millis(c.at), c.saga_id, c.command_id);
      use->step();
    }
    return written;
  }

  // Returns the saga's number (its row's seq): history and timers are keyed by it (schema.cpp,
  // migration 7).
  std::int64_t write_saga(const SagaWrite& w) {
    Statements& st = *statements;
    const SagaRow& s = w.saga;
    if (w.expected_version == 0) {
      try {
        Use use(st.insert_saga);
        use->bind_all(s.id, s.flow, s.flow_version, s.status, static_cast<std::int64_t>(s.version),
                      s.idempotency_key, s.state, to_millis(s.created_at), to_millis(s.updated_at),
                      static_cast<std::int64_t>(s.partition));
        use->step();
      } catch (const Error& e) {
        if (!e.is_constraint()) throw;
        // Two unique indexes can refuse the row; the id tells which. A saga that exists already
        // was created by another writer: the same answer as a stale update.
        Use use(st.saga_exists);
        use->bind_all(s.id);
        if (use->step()) throw VersionConflict(s.id);
        throw DuplicateIdempotencyKey(s.flow, s.idempotency_key);
      }
      return connection.last_insert_rowid();
    }
    // Identity columns (flow, idempotency key, created_at) are fixed at insert.
    Use use(st.update_saga);
    use->bind_all(s.flow_version, s.status, static_cast<std::int64_t>(s.version), s.state,
                  to_millis(s.updated_at), s.id, static_cast<std::int64_t>(w.expected_version));
    if (!use->step()) throw VersionConflict(s.id);
    return use->column_int64(0);
  }

  void rollback() noexcept {
    // Some errors (e.g. SQLITE_FULL) make SQLite roll back by itself; only an open transaction
    // needs one.
    if (connection.autocommit()) return;
    try {
      run(statements->rollback);
    } catch (const Error&) {
      // The failure being rethrown by commit() is the one worth reporting.
    }
  }

  std::vector<SagaRow> read_sagas(Statement& statement) {
    std::vector<SagaRow> out;
    while (statement.step()) out.push_back(read_saga(statement));
    return out;
  }

  std::mutex mutex;  // one connection: every use is serialised
  Connection connection;
  std::unique_ptr<Statements> statements;  // declared after the connection: finalised before it
  std::map<unsigned, std::unique_ptr<Statement>> list_statements;  // by list_shape()
  std::unique_ptr<Checkpointer> checkpointer;  // last: stopped before the writer closes
};

SqliteStore::SqliteStore(const SqliteOptions& options) : impl_(std::make_unique<Impl>(options)) {}

SqliteStore::~SqliteStore() = default;

std::vector<OutboxRow> SqliteStore::commit(const CommitBatch& batch) {
  std::lock_guard lock(impl_->mutex);
  run(impl_->statements->begin);
  try {
    std::vector<OutboxRow> written = impl_->write(batch);
    run(impl_->statements->commit);
    return written;
  } catch (...) {
    impl_->rollback();
    throw;
  }
}

std::optional<SagaRow> SqliteStore::load(std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->load);
  use->bind_all(saga_id);
  if (!use->step()) return std::nullopt;
  return read_saga(impl_->statements->load);
}

std::vector<SagaRow> SqliteStore::load_unfinished() {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->load_unfinished);
  return impl_->read_sagas(impl_->statements->load_unfinished);
}

std::optional<std::string> SqliteStore::find_by_idempotency_key(std::string_view flow,
                                                                std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->find_by_key);
  use->bind_all(flow, key);
  if (!use->step()) return std::nullopt;
  return impl_->statements->find_by_key.column_text(0);
}

std::optional<std::string> SqliteStore::find_subscriber(std::string_view event,
                                                        std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->find_subscriber);
  use->bind_all(event, key);
  if (!use->step()) return std::nullopt;
  return impl_->statements->find_subscriber.column_text(0);
}

std::vector<TimerRow> SqliteStore::due_timers(Timestamp now, std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->due_timers;
  Use use(s);
  use->bind_all(to_millis(now), sql_limit(limit));
  std::vector<TimerRow> out;
  while (s.step())
    out.push_back(TimerRow{s.column_text(0), s.column_text(1), from_millis(s.column_int64(2))});
  return out;
}

std::vector<OutboxRow> SqliteStore::unpublished_outbox(std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->unpublished;
  Use use(s);
  use->bind_all(sql_limit(limit));
  std::vector<OutboxRow> out;
  while (s.step()) out.push_back(read_outbox(s));
  return out;
}

std::vector<HistoryRow> SqliteStore::history(std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->history;
  Use use(s);
  use->bind_all(saga_id);
  std::vector<HistoryRow> out;
  while (s.step()) {
    out.push_back(HistoryRow{s.column_text(0), static_cast<std::uint64_t>(s.column_int64(1)),
                             from_millis(s.column_int64(2)), s.column_text(3), s.column_text(4),
                             s.column_text(5)});
  }
  return out;
}

std::vector<SagaRow> SqliteStore::list(const SagaFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  const unsigned shape = list_shape(filter);
  auto& cached = impl_->list_statements[shape];
  if (!cached) cached = std::make_unique<Statement>(impl_->connection.get(), list_sql(shape));
  Statement& s = *cached;
  Use use(s);
  int index = 0;
  if (shape & kFlow) s.bind(++index, filter.flow);
  if (shape & kStatus) s.bind(++index, filter.status);
  if (shape & kKey) s.bind(++index, filter.key);
  if (shape & kFrom) s.bind(++index, to_millis(*filter.created_from));
  if (shape & kBefore) s.bind(++index, to_millis(*filter.created_before));
  if (shape & kAfter) {
    s.bind(++index, to_millis(filter.after->created_at));
    s.bind(++index, to_millis(filter.after->created_at));
    s.bind(++index, filter.after->id);
  }
  const std::string prefix_end =  // bound SQLITE_STATIC: lives until the rows are read
      filter.id_prefix.empty() ? std::string() : id_prefix_end(filter.id_prefix);
  if (shape & kIdPrefix) {
    s.bind(++index, filter.id_prefix);
    s.bind(++index, prefix_end);
  }
  s.bind(++index, sql_limit(filter.limit));
  return impl_->read_sagas(s);
}

std::vector<SagaCount> SqliteStore::count_by_flow_and_status() {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->count_by_flow_and_status;
  Use use(s);
  std::vector<SagaCount> out;
  while (s.step()) {
    out.push_back(
        {s.column_text(0), s.column_text(1), static_cast<std::uint64_t>(s.column_int64(2))});
  }
  return out;
}

void SqliteStore::save_flow_definition(const FlowDefinitionRow& definition) {
  std::lock_guard lock(impl_->mutex);
  Statements& st = *impl_->statements;
  const auto version = static_cast<std::int64_t>(definition.version);
  {
    Use use(st.insert_flow_definition);
    use->bind_all(definition.name, version, definition.source, to_millis(definition.deployed_at));
    use->step();
  }
  Use use(st.flow_definition_source);
  use->bind_all(definition.name, version);
  if (use->step() && use->column_text(0) != definition.source) {
    throw FlowVersionExists(definition.name, definition.version);
  }
}

std::vector<FlowDefinitionRow> SqliteStore::flow_definitions() {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->flow_definitions;
  Use use(s);
  std::vector<FlowDefinitionRow> out;
  while (s.step()) {
    out.push_back({s.column_text(0), static_cast<int>(s.column_int64(1)), s.column_text(2),
                   from_millis(s.column_int64(3))});
  }
  return out;
}

void SqliteStore::append_audit(const AuditEntry& entry) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->insert_audit);
  use->bind_all(to_millis(entry.at), entry.actor, entry.action, entry.reason, entry.request,
                static_cast<std::int64_t>(entry.result_status), entry.result);
  use->step();
}

std::vector<AuditEntry> SqliteStore::audit(std::optional<std::uint64_t> before, std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->audit;
  Use use(s);
  s.bind_all(before ? static_cast<std::int64_t>(*before) : std::int64_t{-1},
             static_cast<std::int64_t>(limit));
  std::vector<AuditEntry> out;
  while (s.step()) {
    out.push_back(AuditEntry{.seq = static_cast<std::uint64_t>(s.column_int64(0)),
                             .at = from_millis(s.column_int64(1)),
                             .actor = s.column_text(2),
                             .action = s.column_text(3),
                             .reason = s.column_text(4),
                             .request = s.column_text(5),
                             .result_status = static_cast<int>(s.column_int64(6)),
                             .result = s.column_text(7)});
  }
  return out;
}

void SqliteStore::set_flow_paused(std::string_view flow, bool paused) {
  std::lock_guard lock(impl_->mutex);
  Use use(paused ? impl_->statements->pause_flow : impl_->statements->unpause_flow);
  use->bind_all(flow);
  use->step();
}

std::vector<std::string> SqliteStore::paused_flows() {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->paused_flows;
  Use use(s);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

void SqliteStore::save_schedule(const ScheduleRow& schedule) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->save_schedule);
  use->bind_all(schedule.name, schedule.flow, schedule.cron, schedule.zone, schedule.overlap,
                schedule.input, to_millis(schedule.deployed_at));
  use->step();
}

std::vector<ScheduleRow> SqliteStore::schedules() {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->schedules;
  Use use(s);
  std::vector<ScheduleRow> out;
  while (s.step()) {
    ScheduleRow row{.name = s.column_text(0),
                    .flow = s.column_text(1),
                    .cron = s.column_text(2),
                    .zone = s.column_text(3),
                    .overlap = s.column_text(4),
                    .input = s.column_text(5),
                    .paused = s.column_int64(6) != 0,
                    .deployed_at = from_millis(s.column_int64(7)),
                    .last_outcome = s.column_text(10),
                    .last_saga = s.column_text(11)};
    if (s.column_int64(9) == 0) row.last_fire = from_millis(s.column_int64(8));
    out.push_back(std::move(row));
  }
  return out;
}

bool SqliteStore::set_schedule_paused(std::string_view name, bool paused) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->pause_schedule);
  use->bind_all(name, std::int64_t{paused ? 1 : 0});
  use->step();
  return impl_->connection.changes() > 0;
}

bool SqliteStore::remove_schedule(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->remove_schedule);
  use->bind_all(name);
  use->step();
  return impl_->connection.changes() > 0;
}

void SqliteStore::record_schedule_fire(std::string_view name, Timestamp fire,
                                       std::string_view outcome, std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  Use use(impl_->statements->record_schedule_fire);
  use->bind_all(name, to_millis(fire), outcome, saga_id);
  use->step();
}

std::vector<SagaRow> SqliteStore::finished(const FinishedFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->finished;
  Use use(s);
  const std::string partitions = json_partitions(filter.partitions);
  const SagaCursor after = filter.after.value_or(SagaCursor{});
  s.bind_all(filter.flow, filter.status, to_millis(filter.changed_before), partitions,
             std::int64_t{filter.after ? 1 : 0}, to_millis(after.created_at), after.id,
             sql_limit(filter.limit));
  return impl_->read_sagas(s);
}

FinishedCount SqliteStore::count_finished(const FinishedFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  Statement& s = impl_->statements->count_finished;
  Use use(s);
  const std::string partitions = json_partitions(filter.partitions);
  s.bind_all(filter.flow, filter.status, to_millis(filter.changed_before), partitions);
  FinishedCount out;
  if (s.step() && s.column_int64(0) > 0) {
    out.count = static_cast<std::uint64_t>(s.column_int64(0));
    out.oldest = from_millis(s.column_int64(1));
  }
  return out;
}

// Every saga in one short write transaction (the orchestrator's rounds run between them).
RemovedRows SqliteStore::remove_finished(std::span<const SagaRow> sagas) {
  std::lock_guard lock(impl_->mutex);
  Statements& st = *impl_->statements;
  RemovedRows removed;
  json::array batch;
  for (const SagaRow& saga : sagas) batch.emplace_back(saga.id);
  const std::string ids = json::serialize(batch);  // bound without a copy: lives to the end
  run(st.begin);
  try {
    // Read in the removing transaction (BEGIN IMMEDIATE: no other writer meanwhile).
    std::unordered_set<std::string> named;
    {
      Use use(st.named_among);
      use->bind_all(ids);
      while (use->step()) named.insert(use->column_text(0));
    }
    for (const SagaRow& saga : sagas) {
      if (named.contains(saga.id)) continue;
      std::int64_t seq = 0;
      {
        Use use(st.remove_finished);
        use->bind_all(saga.id, static_cast<std::int64_t>(saga.version));
        if (!use->step()) continue;
        seq = use->column_int64(0);
      }
      ++removed.sagas;
      Use use(st.remove_history);
      use->bind_all(seq);
      use->step();
      removed.history += static_cast<std::uint64_t>(impl_->connection.changes());
    }
    run(st.commit);
  } catch (...) {
    impl_->rollback();
    throw;
  }
  return removed;
}

}  // namespace sagaflow::sqlite
