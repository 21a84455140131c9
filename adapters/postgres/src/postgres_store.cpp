#include "sagaflow/postgres/postgres_store.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>

#include "array_literal.hpp"
#include "connection.hpp"
#include "errors.hpp"
#include "pipeline.hpp"
#include "result.hpp"
#include "sagaflow/engine/backoff.hpp"
#include "schema.hpp"
#include "setup.hpp"
#include "statements.hpp"

namespace sagaflow::postgres {

namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kBackoffMin{50};
constexpr milliseconds kBackoffMax{1000};
// How often a store prunes the commit table (rows older than an hour: the fate of a commit is
// looked up within reconnect_timeout of losing it).
constexpr std::chrono::seconds kPruneEvery{60};

// ---------------------------------------------------------------------------------------------
// Reading rows (text form, in the column orders of statements.hpp).

SagaRow read_saga(const Result& r, int row) {
  SagaRow s;
  s.id = r.text(row, 0);
  s.flow = r.text(row, 1);
  s.flow_version = static_cast<int>(r.int64(row, 2));
  s.status = r.text(row, 3);
  s.version = static_cast<std::uint64_t>(r.int64(row, 4));
  s.idempotency_key = r.text(row, 5);
  s.state = r.text(row, 6);
  s.created_at = from_millis(r.int64(row, 7));
  s.updated_at = from_millis(r.int64(row, 8));
  s.partition = static_cast<int>(r.int64(row, 9));
  return s;
}

std::vector<SagaRow> read_sagas(const Result& r) {
  std::vector<SagaRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_saga(r, i));
  return out;
}

MessageKind parse_kind(std::string_view text) {
  if (text == "reply") return MessageKind::reply;
  if (text == "event") return MessageKind::event;
  return MessageKind::command;
}

ReplyOutcome parse_outcome(std::string_view text) {
  if (text == "business_failure") return ReplyOutcome::business_failure;
  if (text == "technical_error") return ReplyOutcome::technical_error;
  return ReplyOutcome::success;
}

std::vector<OutboxRow> read_outbox(const Result& r) {
  std::vector<OutboxRow> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    OutboxRow row;
    row.seq = static_cast<std::uint64_t>(r.int64(i, 0));
    Message& m = row.message;
    m.id = r.text(i, 1);
    m.kind = parse_kind(r.view(i, 2));
    m.type = r.text(i, 3);
    m.destination = r.text(i, 4);
    m.correlation_id = r.text(i, 5);
    m.reply_to = r.text(i, 6);
    m.causation_id = r.text(i, 7);
    m.idempotency_key = r.text(i, 8);
    m.outcome = parse_outcome(r.view(i, 9));
    m.error_code = r.text(i, 10);
    m.flow = r.text(i, 11);
    m.step = r.text(i, 12);
    m.attempt = static_cast<std::uint32_t>(r.int64(i, 13));
    m.traceparent = r.text(i, 14);
    m.body = r.text(i, 15);
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<TimerRow> read_timers(const Result& r) {
  std::vector<TimerRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(TimerRow{r.text(i, 0), r.text(i, 1), from_millis(r.int64(i, 2))});
  }
  return out;
}

std::int64_t sql_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

std::vector<int> partition_list(std::span<const int> partitions) {
  return {partitions.begin(), partitions.end()};
}

// ---------------------------------------------------------------------------------------------
// The admin list: one statement per filter shape (which fields are set), built from constant
// fragments only; values are always parameters. One statement per shape, so that each is planned
// for its own index (an "$1 = '' OR" condition would defeat them all).

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
  int n = 0;
  auto param = [&n] { return "$" + std::to_string(++n); };
  auto add = [&where](const std::string& condition) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
  };
  if (shape & kFlow) add("flow = " + param());
  if (shape & kStatus) add("status = " + param());
  // The key index is partial (keys are never ''): the condition that lets the planner use it.
  if (shape & kKey) add("idempotency_key = " + param() + " AND idempotency_key <> ''");
  if (shape & kFrom) add("created_at >= " + param());
  if (shape & kBefore) add("created_at < " + param());
  if (shape & kAfter) {
    const std::string at = param();
    add("(created_at, id) < (" + at + ", " + param() + ")");
  }
  // The id is COLLATE "C": a range in byte order, on the primary key.
  if (shape & kIdPrefix) {
    const std::string from = param();
    add("id >= " + from + " AND id < " + param());
  }
  return std::string("SELECT ") + sql::kSagaColumns + " FROM sagas" + where +
         " ORDER BY created_at DESC, id DESC LIMIT " + param();
}

Params list_params(const SagaFilter& f) {
  Params p;
  if (!f.flow.empty()) p.add(f.flow);
  if (!f.status.empty()) p.add(f.status);
  if (!f.key.empty()) p.add(f.key);
  if (f.created_from) p.add(to_millis(*f.created_from));
  if (f.created_before) p.add(to_millis(*f.created_before));
  if (f.after) p.add(to_millis(f.after->created_at)).add(f.after->id);
  if (!f.id_prefix.empty()) p.add(f.id_prefix).add(id_prefix_end(f.id_prefix));
  p.add(sql_limit(f.limit));
  return p;
}

// ---------------------------------------------------------------------------------------------
// Commit ids: random 128 bits, made here, written by the transaction into `commits`.

struct CommitId {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  static CommitId make() {
    static thread_local std::random_device device;
    auto draw = [] {
      return (static_cast<std::uint64_t>(device()) << 32) | static_cast<std::uint64_t>(device());
    };
    CommitId id{draw(), draw()};
    // Shaped as a version 4 UUID, so that it reads as one.
    id.high = (id.high & ~0xF000ull) | 0x4000ull;
    id.low = (id.low & ~(0xC000ull << 48)) | (0x8000ull << 48);
    return id;
  }

  std::string uuid() const {
    char text[37];
    std::snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(high >> 32), static_cast<unsigned>((high >> 16) & 0xFFFF),
                  static_cast<unsigned>(high & 0xFFFF), static_cast<unsigned>(low >> 48),
                  static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
    return text;
  }
  // The key of the commit's advisory lock, and its halves as pg_locks shows them.
  std::int64_t lock_key() const { return static_cast<std::int64_t>(high); }
  std::int64_t lock_classid() const { return static_cast<std::int64_t>(high >> 32); }
  std::int64_t lock_objid() const { return static_cast<std::int64_t>(high & 0xFFFFFFFFull); }
};

// What each statement of a commit's pipeline was, to tell which writes a refusal belongs to.
struct Step {
  enum Kind : std::uint8_t { other, mark, created, moved, outbox };
  Kind kind = other;
  std::size_t round = 0;  // created, moved: the writes of that round (SagaRounds)
};

// The writes of a batch in rounds: round k holds the k-th write of each saga in the batch, in
// the batch's order (one round unless a saga moves more than once), each round its new sagas
// then its moved ones. One statement per kind per round: an UPDATE ... FROM moves a row once.
struct SagaRounds {
  struct Round {
    std::vector<std::size_t> created;
    std::vector<std::size_t> moved;
  };
  std::vector<Round> rounds;

  explicit SagaRounds(const CommitBatch& batch) {
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(batch.writes.size());
    for (std::size_t wi = 0; wi < batch.writes.size(); ++wi) {
      const SagaWrite& w = batch.writes[wi];
      const std::size_t round = seen[w.saga.id]++;
      if (round == rounds.size()) rounds.emplace_back();
      (w.expected_version == 0 ? rounds[round].created : rounds[round].moved).push_back(wi);
    }
  }
};

// The net change of a batch to each timer (saga, key) and route (event, key), one per key, as
// the writes in order would leave it: per write timers cleared before set, routes unsubscribed
// before subscribed; of several changes to one key the last decides.
struct NetChanges {
  using Key = std::pair<std::string_view, std::string_view>;
  struct Timer {
    std::optional<std::int64_t> due;  // nullopt: cleared
    int partition = 0;
    std::string_view started_by;
    std::int64_t runs_for = 0;
  };
  struct Route {
    bool known = false;                     // the batch set the route: owner is its final state
    std::optional<std::string_view> owner;  // known: the saga subscribed, nullopt = removed
    std::vector<std::string_view> unless;   // not known: removed if its owner is one of these
  };
  std::map<Key, Timer> timers;
  std::map<Key, Route> routes;

  explicit NetChanges(const CommitBatch& batch) {
    for (const SagaWrite& w : batch.writes) {
      const std::string_view id = w.saga.id;
      for (const std::string& key : w.timers_cleared) timers[{id, key}] = Timer{};
      for (const TimerRow& t : w.timers_set) {
        timers[{id, t.key}] =
            Timer{to_millis(stored_due(t)), w.saga.partition, t.started_by, t.runs_for.count()};
      }
      for (const Subscription& sub : w.unsubscribe) {
        Route& r = routes[{sub.event, sub.key}];
        if (!r.known) {
          r.unless.push_back(id);
        } else if (r.owner == id) {
          r.owner.reset();
        }
      }
      for (const Subscription& sub : w.subscribe) {
        Route& r = routes[{sub.event, sub.key}];
        r.known = true;
        r.owner = id;
        r.unless.clear();
      }
    }
  }
};

// The fixed texts of the refusals raised in the schema (schema.cpp), read back for the saga or
// lease they name.
constexpr std::string_view kVersionConflictText = "version conflict on saga ";

std::optional<std::string> conflicting_saga(const Result& r) {
  const std::string message = r.message();
  if (!message.starts_with(kVersionConflictText)) return std::nullopt;
  return message.substr(kVersionConflictText.size());
}

std::optional<std::pair<int, std::uint64_t>> stale_lease(const Result& r) {
  int partition = 0;
  unsigned long long epoch = 0;
  if (std::sscanf(r.message().c_str(), "lease on partition %d epoch %llu", &partition, &epoch) !=
      2) {
    return std::nullopt;
  }
  return std::pair{partition, static_cast<std::uint64_t>(epoch)};
}

// A rerun of a commit found its id already in `commits`: an earlier attempt did commit.
struct AlreadyCommitted {};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct PostgresStore::Impl {
  explicit Impl(const PostgresOptions& options)
      : options(options), keywords(connect_keywords(options)) {
    std::optional<Deadline> budget;
    if (options.start_timeout) budget = deadline_in(*options.start_timeout);
    ensure_connected(budget);
  }

  // ---- connection and reconnecting

  // Connects when there is no usable connection, retrying with backoff until `budget` (started
  // at the first failure) runs out. A new connection gets its search_path, the schema migrated
  // (the first one only) and every statement prepared, in one round trip.
  void ensure_connected(std::optional<Deadline>& budget) {
    while (!ready || !connection.ok()) {
      ready = false;
      try {
        connection.connect(keywords, deadline_in(options.connect_timeout));
        set_search_path(connection, options.schema, deadline_in(options.io_timeout));
        if (!migrated) {
          migrate(connection);
          migrated = true;
        }
        const Deadline deadline = deadline_in(options.io_timeout);
        Pipeline p(connection);
        for (const Statement* s : sql::all()) {
          if (!s->planned_each_run) p.prepare(s->name, s->sql);
        }
        p.run(deadline);
        p.throw_if_failed("preparing statements");
        ready = true;
        backoff.reset();
        if (options.on_connection) options.on_connection(true, {});
      } catch (const ConnectionError&) {
        lost(budget);
      }
    }
  }

  // Called in a handler of ConnectionError: drops the connection, rethrows the error once the
  // budget is spent, else waits before the next attempt.
  void lost(std::optional<Deadline>& budget) {
    drop();
    if (options.on_connection) {
      try {
        throw;
      } catch (const std::exception& e) {
        options.on_connection(false, e.what());
      }
    }
    if (!budget) budget = deadline_in(options.reconnect_timeout);
    if (SteadyClock::now() >= *budget || stopped) throw;
    // stop_retrying() cuts the wait short.
    std::unique_lock lock(stop_mutex);
    stop_changed.wait_for(
        lock, std::min<SteadyClock::duration>(backoff.next(), *budget - SteadyClock::now()),
        [&] { return stopped.load(); });
  }

  void drop() noexcept {
    connection.finish();
    ready = false;
    prepared_lists.clear();
  }

  // Runs `call` on a working connection; after a lost connection, reconnects and runs it again
  // (every caller of this is safe to run twice).
  template <class F>
  auto retrying(F&& call) {
    std::optional<Deadline> budget;
    while (true) {
      ensure_connected(budget);
      try {
        return call();
      } catch (const ConnectionError&) {
        lost(budget);
      }
    }
  }

  // One prepared statement, in a pipeline of its own (the sync ends its implicit transaction).
  Result query(const Statement& statement, const Params& params) {
    return retrying([&] {
      Pipeline p(connection);
      if (statement.planned_each_run) {
        p.execute_unprepared(statement.sql, params);
      } else {
        p.execute(statement.name, params);
      }
      p.run(deadline_in(options.io_timeout));
      p.throw_if_failed(statement.name);
      return std::move(p.result(0));
    });
  }

  // Rolls back the transaction a failed pipeline left open. A connection lost meanwhile is
  // dropped: the server rolls back on its own then.
  void rollback() noexcept {
    try {
      if (connection.transaction_status() == Connection::Transaction::idle) return;
      Pipeline p(connection);
      p.execute(sql::rollback.name, {});
      p.run(deadline_in(options.io_timeout));
    } catch (const Error&) {
      drop();
    }
  }

  // ---- commit

  std::vector<OutboxRow> commit(const CommitBatch& batch) {
    const CommitId id = CommitId::make();
    std::optional<Deadline> budget;
    bool maybe_sent = false;
    while (true) {
      try {
        ensure_connected(budget);
        if (maybe_sent) {
          // The connection was lost while the transaction may have been on its way: look its
          // fate up before anything else.
          if (auto written = commit_fate(id)) return *written;
        }
        maybe_sent = true;
        return run_commit(batch, id);
      } catch (const AlreadyCommitted&) {
        // Found by the rerun's own commit mark: the next round reads the committed rows.
        continue;
      } catch (const ConnectionError& e) {
        try {
          lost(budget);
        } catch (const ConnectionError&) {
          if (maybe_sent) {
            throw CommitOutcomeUnknown(
                std::string("postgres: the connection was lost during a commit and could not be "
                            "made again in time to learn whether it committed: ") +
                e.what());
          }
          throw;
        }
      }
    }
  }

  // One round trip: BEGIN, the commit's lock and mark, the batch's changes as one statement per
  // kind (arrays for parameters, statements.cpp), the published outbox rows' deletion and
  // COMMIT, then a sync.
  std::vector<OutboxRow> run_commit(const CommitBatch& batch, const CommitId& id) {
    const std::string uuid = id.uuid();
    std::vector<Step> steps;
    Pipeline p(connection);
    auto run = [&](const Statement& statement, const Params& params, Step step = {}) {
      p.execute(statement.name, params);
      steps.push_back(step);
    };
    run(sql::begin, {});
    run(sql::commit_lock, Params().add(id.lock_key()));
    run(sql::commit_mark, Params().add(uuid), {Step::mark});
    std::vector<int> leased;
    for (const SagaWrite& w : batch.writes) {
      if (w.lease_epoch != 0) leased.push_back(w.saga.partition);
    }
    if (!leased.empty()) {
      std::sort(leased.begin(), leased.end());
      leased.erase(std::unique(leased.begin(), leased.end()), leased.end());
      run(sql::lock_leases, Params().add_array(leased));
    }

    const SagaRounds rounds(batch);
    for (std::size_t r = 0; r < rounds.rounds.size(); ++r) {
      const SagaRounds::Round& round = rounds.rounds[r];
      if (!round.created.empty()) {
        ArrayLiteral id_, flow, flow_version, status, version, key, partition, epoch, state,
            created_at, updated_at;
        for (const std::size_t wi : round.created) {
          const SagaWrite& w = batch.writes[wi];
          const SagaRow& s = w.saga;
          id_.add(s.id);
          flow.add(s.flow);
          flow_version.add(s.flow_version);
          status.add(s.status);
          version.add(s.version);
          key.add(s.idempotency_key);
          partition.add(s.partition);
          epoch.add(w.lease_epoch);
          state.add(s.state);
          created_at.add(to_millis(s.created_at));
          updated_at.add(to_millis(s.updated_at));
        }
        run(sql::insert_sagas,
            Params()
                .add(id_)
                .add(flow)
                .add(flow_version)
                .add(status)
                .add(version)
                .add(key)
                .add(partition)
                .add(epoch)
                .add(state)
                .add(created_at)
                .add(updated_at),
            {Step::created, r});
      }
      if (!round.moved.empty()) {
        // Identity columns (flow, idempotency key, partition, created_at) are fixed at insert.
        ArrayLiteral id_, expected, flow_version, status, version, state, updated_at, epoch;
        for (const std::size_t wi : round.moved) {
          const SagaWrite& w = batch.writes[wi];
          const SagaRow& s = w.saga;
          id_.add(s.id);
          expected.add(w.expected_version);
          flow_version.add(s.flow_version);
          status.add(s.status);
          version.add(s.version);
          state.add(s.state);
          updated_at.add(to_millis(s.updated_at));
          epoch.add(w.lease_epoch);
        }
        run(sql::update_sagas,
            Params()
                .add(id_)
                .add(expected)
                .add(flow_version)
                .add(status)
                .add(version)
                .add(state)
                .add(updated_at)
                .add(epoch),
            {Step::moved, r});
      }
    }

    {
      ArrayLiteral saga_id, saga_version, at, kind, step, detail;
      for (const SagaWrite& w : batch.writes) {
        for (const HistoryRow& h : w.history) {
          saga_id.add(w.saga.id);
          saga_version.add(h.saga_version);
          at.add(to_millis(h.at));
          kind.add(h.kind);
          step.add(h.step);
          detail.add(h.detail);
        }
      }
      if (!saga_id.empty()) {
        run(sql::insert_history,
            Params().add(saga_id).add(saga_version).add(at).add(kind).add(step).add(detail));
      }
    }

    std::vector<const Message*> messages;
    {
      ArrayLiteral saga_id, partition, message_id, kind, type, destination, correlation_id,
          reply_to, causation_id, key, outcome, error_code, flow, step, attempt, traceparent, body;
      for (const SagaWrite& w : batch.writes) {
        for (const Message& m : w.outbox) {
          messages.push_back(&m);
          saga_id.add(w.saga.id);
          partition.add(w.saga.partition);
          message_id.add(m.id);
          kind.add(to_string(m.kind));
          type.add(m.type);
          destination.add(m.destination);
          correlation_id.add(m.correlation_id);
          reply_to.add(m.reply_to);
          causation_id.add(m.causation_id);
          key.add(m.idempotency_key);
          outcome.add(to_string(m.outcome));
          error_code.add(m.error_code);
          flow.add(m.flow);
          step.add(m.step);
          attempt.add(static_cast<std::int64_t>(m.attempt));
          traceparent.add(m.traceparent);
          body.add(m.body);
        }
      }
      if (!messages.empty()) {
        run(sql::insert_outbox,
            Params()
                .add(uuid)
                .add(saga_id)
                .add(partition)
                .add(message_id)
                .add(kind)
                .add(type)
                .add(destination)
                .add(correlation_id)
                .add(reply_to)
                .add(causation_id)
                .add(key)
                .add(outcome)
                .add(error_code)
                .add(flow)
                .add(step)
                .add(attempt)
                .add(traceparent)
                .add(body),
            {Step::outbox});
      }
    }

    {
      const NetChanges net(batch);
      ArrayLiteral clear_saga, clear_key, set_saga, set_key, set_due, set_partition, set_started_by,
          set_runs_for;
      for (const auto& [k, t] : net.timers) {
        if (t.due) {
          set_saga.add(k.first);
          set_key.add(k.second);
          set_due.add(*t.due);
          set_partition.add(t.partition);
          set_started_by.add(t.started_by);
          set_runs_for.add(t.runs_for);
        } else {
          clear_saga.add(k.first);
          clear_key.add(k.second);
        }
      }
      if (!clear_saga.empty()) run(sql::clear_timers, Params().add(clear_saga).add(clear_key));
      if (!set_saga.empty()) {
        run(sql::set_timers, Params()
                                 .add(set_saga)
                                 .add(set_key)
                                 .add(set_due)
                                 .add(set_partition)
                                 .add(set_started_by)
                                 .add(set_runs_for));
      }
      // One row per command (an UPDATE ... FROM takes one source row per target row): the
      // first confirm of a command republished within the batch's span is the one that counts.
      ArrayLiteral sent_saga, sent_command, sent_at;
      std::set<std::pair<std::string_view, std::string_view>> sent_once;
      for (const CommandSent& c : batch.sent) {
        if (!sent_once.insert({c.saga_id, c.command_id}).second) continue;
        sent_saga.add(c.saga_id);
        sent_command.add(c.command_id);
        sent_at.add(to_millis(c.at));
      }
      if (!sent_saga.empty()) {
        run(sql::start_timers, Params().add(sent_saga).add(sent_command).add(sent_at));
      }
      // A saga removes only its own routes: one that another saga has since taken over stays.
      ArrayLiteral off_event, off_key, off_saga, on_event, on_key, on_saga;
      for (const auto& [k, route] : net.routes) {
        if (route.known && route.owner) {
          on_event.add(k.first);
          on_key.add(k.second);
          on_saga.add(*route.owner);
        } else if (route.known) {
          off_event.add(k.first);
          off_key.add(k.second);
          off_saga.add_null();
        } else {
          for (const std::string_view saga : route.unless) {
            off_event.add(k.first);
            off_key.add(k.second);
            off_saga.add(saga);
          }
        }
      }
      if (!off_event.empty())
        run(sql::unsubscribe, Params().add(off_event).add(off_key).add(off_saga));
      if (!on_event.empty()) run(sql::subscribe, Params().add(on_event).add(on_key).add(on_saga));
    }

    if (!batch.published.empty()) run(sql::delete_outbox, Params().add_array(batch.published));
    const auto now = SteadyClock::now();
    const bool prune = now - last_prune >= kPruneEvery;
    if (prune) run(sql::prune_commits, {});
    run(sql::commit, {});

    const Deadline deadline = deadline_in(options.io_timeout);
    p.send(deadline);
    if (options.on_commit_sent && options.on_commit_sent()) {
      throw ConnectionError("postgres: connection dropped after COMMIT was sent (on_commit_sent)");
    }
    p.receive(deadline);
    if (prune) last_prune = now;

    if (const auto failed = p.first_error()) {
      rollback();
      refuse(batch, rounds, steps[*failed], p.result(*failed));
    }
    std::vector<OutboxRow> written;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].kind != Step::outbox) continue;
      // Inserted in the order of the writes from one sequence: sorted, the seqs are theirs.
      const Result& r = p.result(i);
      std::vector<std::uint64_t> seqs;
      seqs.reserve(static_cast<std::size_t>(r.rows()));
      for (int row = 0; row < r.rows(); ++row) {
        seqs.push_back(static_cast<std::uint64_t>(r.int64(row, 0)));
      }
      if (seqs.size() != messages.size()) {
        throw Error("postgres: commit: the outbox insert returned " + std::to_string(seqs.size()) +
                    " seqs for " + std::to_string(messages.size()) + " messages");
      }
      std::sort(seqs.begin(), seqs.end());
      written.reserve(seqs.size());
      for (std::size_t m = 0; m < seqs.size(); ++m)
        written.push_back(OutboxRow{seqs[m], *messages[m]});
    }
    return written;
  }

  // Maps the refusal of one statement of a commit to the port's exception. The transaction is
  // rolled back already.
  [[noreturn]] void refuse(const CommitBatch& batch, const SagaRounds& rounds, const Step& step,
                           const Result& r) {
    const std::string sqlstate = r.sqlstate();
    if (step.kind == Step::mark && sqlstate == "23505") throw AlreadyCommitted{};
    if (step.kind == Step::created || step.kind == Step::moved) {
      const SagaRounds::Round& round = rounds.rounds[step.round];
      const std::vector<std::size_t>& writes =
          step.kind == Step::created ? round.created : round.moved;
      const SagaWrite& first = batch.writes[writes.front()];
      if (sqlstate == kVersionConflictState) {
        // The statement names the first write whose row did not move (or existed already).
        throw VersionConflict(conflicting_saga(r).value_or(first.saga.id));
      }
      if (sqlstate == kStaleLeaseState) {
        // The fencing trigger names the partition and epoch of the row it refused.
        if (const auto lease = stale_lease(r)) throw StaleLease(lease->first, lease->second);
        throw StaleLease(first.saga.partition, first.lease_epoch);
      }
      if (sqlstate == "23505") {
        if (r.constraint() == "sagas_pkey") throw VersionConflict(first.saga.id);
        if (r.constraint() == "sagas_idempotency") duplicate_key(batch, rounds, step.round);
      }
    }
    throw_error(r, "commit");
  }

  // A new saga of `round` reused an idempotency key: of another saga of the batch (before it in
  // the batch's order), or of one stored. The error does not say which write, so it is looked up,
  // the batch being rolled back already: the stored keys of the round's new sagas, in one round
  // trip.
  [[noreturn]] void duplicate_key(const CommitBatch& batch, const SagaRounds& rounds,
                                  std::size_t round) {
    std::set<std::pair<std::string_view, std::string_view>> used;
    for (const SagaWrite& w : batch.writes) {
      if (w.expected_version != 0 || w.saga.idempotency_key.empty()) continue;
      if (!used.insert({w.saga.flow, w.saga.idempotency_key}).second) {
        throw DuplicateIdempotencyKey(w.saga.flow, w.saga.idempotency_key);
      }
    }
    std::vector<const SagaRow*> keyed;
    for (const std::size_t wi : rounds.rounds[round].created) {
      if (!batch.writes[wi].saga.idempotency_key.empty()) keyed.push_back(&batch.writes[wi].saga);
    }
    if (keyed.empty()) throw Error("postgres: commit: an idempotency key conflict without a key");
    if (keyed.size() > 1) {
      Pipeline p(connection);
      for (const SagaRow* s : keyed) {
        p.execute(sql::find_by_key.name, Params().add(s->flow).add(s->idempotency_key));
      }
      p.run(deadline_in(options.io_timeout));
      p.throw_if_failed("commit: finding the duplicate idempotency key");
      for (std::size_t i = 0; i < keyed.size(); ++i) {
        if (p.result(i).rows() > 0) {
          throw DuplicateIdempotencyKey(keyed[i]->flow, keyed[i]->idempotency_key);
        }
      }
    }
    throw DuplicateIdempotencyKey(keyed.front()->flow, keyed.front()->idempotency_key);
  }

  // After a lost connection: did the commit with this id happen? Ends a server process that
  // still runs it, waits for its transaction to be over (the commit's advisory lock), then reads
  // the commit mark: its rows when present, nullopt when the transaction rolled back.
  std::optional<std::vector<OutboxRow>> commit_fate(const CommitId& id) {
    const std::string uuid = id.uuid();
    Pipeline p(connection);
    p.execute(sql::begin.name, {});
    p.execute(sql::end_zombie.name, Params().add(id.lock_classid()).add(id.lock_objid()));
    p.execute(sql::lock_timeout.name,
              Params().add(std::to_string(options.reconnect_timeout.count()) + "ms"));
    p.execute(sql::commit_lock.name, Params().add(id.lock_key()));
    p.execute(sql::commit_found.name, Params().add(uuid));
    p.execute(sql::commit_outbox.name, Params().add(uuid));
    p.execute(sql::commit.name, {});
    p.run(deadline_in(options.io_timeout + options.reconnect_timeout));
    if (const auto failed = p.first_error()) {
      rollback();
      const Result& r = p.result(*failed);
      throw CommitOutcomeUnknown("postgres: looking up whether a commit happened: " + r.message() +
                                 " (SQLSTATE " + r.sqlstate() + ")");
    }
    if (p.result(4).rows() == 0) return std::nullopt;
    return read_outbox(p.result(5));
  }

  // ---- leases

  std::vector<Lease> heartbeat(std::string_view owner, int partition_count, Duration ttl) {
    const std::string name(owner);
    const auto ttl_ms = static_cast<std::int64_t>(ttl.count());
    return retrying([&] {
      Pipeline p(connection);
      p.execute(sql::begin.name, {});
      p.execute(sql::heartbeat_lock.name, {});
      p.execute(sql::heartbeat_alive.name, Params().add(name).add(ttl_ms));
      p.execute(sql::heartbeat_prune.name, {});
      p.execute(sql::heartbeat_rows.name, Params().add(partition_count));
      p.execute(sql::heartbeat_renew.name, Params().add(name).add(ttl_ms).add(partition_count));
      p.execute(sql::heartbeat_out_of_range.name, Params().add(name).add(partition_count));
      p.execute(sql::heartbeat_give_up.name, Params().add(name).add(partition_count));
      p.execute(sql::heartbeat_take.name, Params().add(name).add(partition_count).add(ttl_ms));
      p.execute(sql::heartbeat_held.name, Params().add(name));
      p.execute(sql::commit.name, {});
      p.run(deadline_in(options.io_timeout));
      if (p.first_error()) {
        rollback();
        p.throw_if_failed("heartbeat");
      }
      const Result& held = p.result(9);
      std::vector<Lease> leases;
      for (int i = 0; i < held.rows(); ++i) {
        leases.push_back(Lease{static_cast<int>(held.int64(i, 0)),
                               static_cast<std::uint64_t>(held.int64(i, 1))});
      }
      return leases;
    });
  }

  void release(std::string_view owner) {
    const std::string name(owner);
    retrying([&] {
      Pipeline p(connection);
      p.execute(sql::begin.name, {});
      p.execute(sql::heartbeat_lock.name, {});
      p.execute(sql::release_leases.name, Params().add(name));
      p.execute(sql::release_owner.name, Params().add(name));
      p.execute(sql::commit.name, {});
      p.run(deadline_in(options.io_timeout));
      if (p.first_error()) {
        rollback();
        p.throw_if_failed("release");
      }
    });
  }

  // ---- the admin list

  std::vector<SagaRow> list(const SagaFilter& filter) {
    const unsigned shape = list_shape(filter);
    const Params params = list_params(filter);
    return retrying([&] {
      const std::string name = "sf_list_" + std::to_string(shape);
      Pipeline p(connection);
      const bool prepare = !prepared_lists.contains(shape);
      if (prepare) p.prepare(name, list_sql(shape));
      p.execute(name, params);
      p.run(deadline_in(options.io_timeout));
      p.throw_if_failed("list");
      if (prepare) prepared_lists.insert(shape);
      return read_sagas(p.result(prepare ? 1 : 0));
    });
  }

  std::string explain_list(const SagaFilter& filter) {
    const unsigned shape = list_shape(filter);
    const Params params = list_params(filter);
    return retrying([&] {
      connection.send_query_params("EXPLAIN " + list_sql(shape), params);
      const Deadline deadline = deadline_in(options.io_timeout);
      std::string plan;
      std::optional<Result> failed;
      while (Result r = connection.get_result(deadline)) {
        if (r.status() == Result::Status::error) {
          if (!failed) failed = std::move(r);
          continue;
        }
        for (int i = 0; i < r.rows(); ++i) plan += r.text(i, 0) + "\n";
      }
      if (failed) throw_error(*failed, "explain");
      return plan;
    });
  }

  PostgresOptions options;
  std::vector<std::pair<std::string, std::string>> keywords;
  std::mutex mutex;  // one connection: every use is serialised
  Connection connection;
  bool migrated = false;              // the schema is up to date (checked at the first connect)
  bool ready = false;                 // connected, search_path set, statements prepared
  std::set<unsigned> prepared_lists;  // list shapes prepared on this connection
  Backoff backoff{{kBackoffMin, kBackoffMax}, system_random()};
  SteadyClock::time_point last_prune{};
  // stop_retrying(): taken without the connection's mutex, which a retrying call holds.
  std::atomic<bool> stopped{false};
  std::mutex stop_mutex;
  std::condition_variable stop_changed;
};

// ---------------------------------------------------------------------------------------------

PostgresStore::PostgresStore(const PostgresOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}

PostgresStore::~PostgresStore() = default;

void PostgresStore::stop_retrying() {
  {
    std::lock_guard lock(impl_->stop_mutex);
    impl_->stopped = true;
  }
  impl_->stop_changed.notify_all();
}

std::vector<OutboxRow> PostgresStore::commit(const CommitBatch& batch) {
  std::lock_guard lock(impl_->mutex);
  return impl_->commit(batch);
}

std::optional<SagaRow> PostgresStore::load(std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::load, Params().add(saga_id));
  if (r.rows() == 0) return std::nullopt;
  return read_saga(r, 0);
}

std::vector<SagaRow> PostgresStore::load_unfinished() {
  std::lock_guard lock(impl_->mutex);
  return read_sagas(impl_->query(sql::load_unfinished, {}));
}

std::optional<std::string> PostgresStore::find_by_idempotency_key(std::string_view flow,
                                                                  std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::find_by_key, Params().add(flow).add(key));
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::optional<std::string> PostgresStore::find_subscriber(std::string_view event,
                                                          std::string_view key) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::find_subscriber, Params().add(event).add(key));
  if (r.rows() == 0) return std::nullopt;
  return r.text(0, 0);
}

std::vector<TimerRow> PostgresStore::due_timers(Timestamp now, std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  return read_timers(
      impl_->query(sql::due_timers, Params().add(to_millis(now)).add(sql_limit(limit))));
}

std::vector<OutboxRow> PostgresStore::unpublished_outbox(std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  return read_outbox(impl_->query(sql::unpublished, Params().add(sql_limit(limit))));
}

std::vector<HistoryRow> PostgresStore::history(std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::history, Params().add(saga_id));
  std::vector<HistoryRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(HistoryRow{r.text(i, 0), static_cast<std::uint64_t>(r.int64(i, 1)),
                             from_millis(r.int64(i, 2)), r.text(i, 3), r.text(i, 4), r.text(i, 5)});
  }
  return out;
}

std::vector<SagaRow> PostgresStore::list(const SagaFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  return impl_->list(filter);
}

std::vector<SagaCount> PostgresStore::count_by_flow_and_status() {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::counts, {});
  std::vector<SagaCount> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({r.text(i, 0), r.text(i, 1), static_cast<std::uint64_t>(r.int64(i, 2))});
  }
  return out;
}

void PostgresStore::save_flow_definition(const FlowDefinitionRow& definition) {
  std::lock_guard lock(impl_->mutex);
  // Insert-if-absent and read back in one round trip (one implicit transaction).
  const std::string stored = impl_->retrying([&] {
    Pipeline p(impl_->connection);
    p.execute(sql::insert_flow_definition.name, Params()
                                                    .add(definition.name)
                                                    .add(definition.version)
                                                    .add(definition.source)
                                                    .add(to_millis(definition.deployed_at)));
    p.execute(sql::flow_definition_source.name,
              Params().add(definition.name).add(definition.version));
    p.run(deadline_in(impl_->options.io_timeout));
    p.throw_if_failed("save_flow_definition");
    return p.result(1).text(0, 0);
  });
  if (stored != definition.source) throw FlowVersionExists(definition.name, definition.version);
}

std::vector<FlowDefinitionRow> PostgresStore::flow_definitions() {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::flow_definitions, {});
  std::vector<FlowDefinitionRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(
        {r.text(i, 0), static_cast<int>(r.int64(i, 1)), r.text(i, 2), from_millis(r.int64(i, 3))});
  }
  return out;
}

void PostgresStore::append_audit(const AuditEntry& entry) {
  std::lock_guard lock(impl_->mutex);
  impl_->query(sql::insert_audit, Params()
                                      .add(to_millis(entry.at))
                                      .add(entry.actor)
                                      .add(entry.action)
                                      .add(entry.reason)
                                      .add(entry.request)
                                      .add(entry.result_status)
                                      .add(entry.result));
}

std::vector<AuditEntry> PostgresStore::audit(std::optional<std::uint64_t> before,
                                             std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::audit,
                          Params()
                              .add(before ? static_cast<std::int64_t>(*before) : std::int64_t{-1})
                              .add(static_cast<std::int64_t>(limit)));
  std::vector<AuditEntry> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(AuditEntry{.seq = static_cast<std::uint64_t>(r.int64(i, 0)),
                             .at = from_millis(r.int64(i, 1)),
                             .actor = r.text(i, 2),
                             .action = r.text(i, 3),
                             .reason = r.text(i, 4),
                             .request = r.text(i, 5),
                             .result_status = static_cast<int>(r.int64(i, 6)),
                             .result = r.text(i, 7)});
  }
  return out;
}

void PostgresStore::set_flow_paused(std::string_view flow, bool paused) {
  std::lock_guard lock(impl_->mutex);
  impl_->query(paused ? sql::pause_flow : sql::unpause_flow, Params().add(flow));
}

std::vector<std::string> PostgresStore::paused_flows() {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::paused_flows, {});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

void PostgresStore::save_schedule(const ScheduleRow& schedule) {
  std::lock_guard lock(impl_->mutex);
  impl_->query(sql::save_schedule, Params()
                                       .add(schedule.name)
                                       .add(schedule.flow)
                                       .add(schedule.cron)
                                       .add(schedule.zone)
                                       .add(schedule.overlap)
                                       .add(schedule.input)
                                       .add(to_millis(schedule.deployed_at)));
}

std::vector<ScheduleRow> PostgresStore::schedules() {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::schedules, {});
  std::vector<ScheduleRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    ScheduleRow row{.name = r.text(i, 0),
                    .flow = r.text(i, 1),
                    .cron = r.text(i, 2),
                    .zone = r.text(i, 3),
                    .overlap = r.text(i, 4),
                    .input = r.text(i, 5),
                    .paused = r.text(i, 6) == "t",
                    .deployed_at = from_millis(r.int64(i, 7)),
                    .last_outcome = r.text(i, 9),
                    .last_saga = r.text(i, 10)};
    if (!r.is_null(i, 8)) row.last_fire = from_millis(r.int64(i, 8));
    out.push_back(std::move(row));
  }
  return out;
}

bool PostgresStore::set_schedule_paused(std::string_view name, bool paused) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::pause_schedule,
                          Params().add(name).add(std::string_view(paused ? "true" : "false")));
  return r.affected() > 0;
}

bool PostgresStore::remove_schedule(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::remove_schedule, Params().add(name));
  return r.affected() > 0;
}

void PostgresStore::record_schedule_fire(std::string_view name, Timestamp fire,
                                         std::string_view outcome, std::string_view saga_id) {
  std::lock_guard lock(impl_->mutex);
  impl_->query(sql::record_schedule_fire,
               Params().add(name).add(to_millis(fire)).add(outcome).add(saga_id));
}

namespace {

Params finished_params(const FinishedFilter& filter) {
  Params p;
  p.add(filter.flow).add(filter.status).add(to_millis(filter.changed_before));
  p.add_array(filter.partitions);
  return p;
}

}  // namespace

std::vector<SagaRow> PostgresStore::finished(const FinishedFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  const SagaCursor after =
      filter.after.value_or(SagaCursor{from_millis(std::numeric_limits<std::int64_t>::min()), ""});
  // Each page of candidates says which of them an outbox row or a subscription names; those
  // are left out and the next page read, until `limit` others are found or none is left.
  std::vector<SagaRow> out;
  SagaCursor cursor = after;
  while (out.size() < filter.limit) {
    const std::size_t wanted = filter.limit - out.size();
    Params params = finished_params(filter);
    params.add(to_millis(cursor.created_at)).add(cursor.id).add(sql_limit(wanted));
    Result r = impl_->query(sql::finished, params);
    constexpr int kNamedColumn = 10;  // after the saga columns
    for (int i = 0; i < r.rows(); ++i) {
      if (r.view(i, kNamedColumn) != "t") out.push_back(read_saga(r, i));
    }
    if (static_cast<std::size_t>(r.rows()) < wanted) break;
    const SagaRow last = read_saga(r, r.rows() - 1);
    cursor = SagaCursor{last.created_at, last.id};
  }
  return out;
}

FinishedCount PostgresStore::count_finished(const FinishedFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::count_finished, finished_params(filter));
  FinishedCount out;
  out.count = static_cast<std::uint64_t>(r.int64(0, 0));
  if (out.count > 0) out.oldest = from_millis(r.int64(0, 1));
  return out;
}

RemovedRows PostgresStore::remove_finished(std::span<const SagaRow> sagas) {
  if (sagas.empty()) return {};
  ArrayLiteral ids;
  ArrayLiteral versions;
  for (const SagaRow& saga : sagas) {
    ids.add(saga.id);
    versions.add(static_cast<std::int64_t>(saga.version));
  }
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::remove_finished, Params().add(ids.str()).add(versions.str()));
  return RemovedRows{static_cast<std::uint64_t>(r.int64(0, 0)),
                     static_cast<std::uint64_t>(r.int64(0, 1))};
}

std::vector<Lease> PostgresStore::heartbeat(std::string_view owner, int partition_count,
                                            Duration ttl) {
  std::lock_guard lock(impl_->mutex);
  return impl_->heartbeat(owner, partition_count, ttl);
}

void PostgresStore::release(std::string_view owner) {
  std::lock_guard lock(impl_->mutex);
  impl_->release(owner);
}

void PostgresStore::advertise(std::string_view owner, std::string_view admin_url) {
  std::lock_guard lock(impl_->mutex);
  impl_->query(sql::advertise_admin_url,
               Params().add(std::string(owner)).add(std::string(admin_url)));
}

std::optional<PartitionOwner> PostgresStore::owner_of(int partition) {
  std::lock_guard lock(impl_->mutex);
  Result r = impl_->query(sql::partition_owner, Params().add(partition));
  if (r.rows() == 0) return std::nullopt;
  return PartitionOwner{r.text(0, 0), r.text(0, 1)};
}

std::vector<SagaRow> PostgresStore::load_unfinished_in(std::span<const int> partitions) {
  std::lock_guard lock(impl_->mutex);
  return read_sagas(
      impl_->query(sql::load_unfinished_in, Params().add_array(partition_list(partitions))));
}

std::vector<TimerRow> PostgresStore::due_timers_in(Timestamp now, std::size_t limit,
                                                   std::span<const int> partitions) {
  std::lock_guard lock(impl_->mutex);
  return read_timers(impl_->query(
      sql::due_timers_in,
      Params().add(to_millis(now)).add(sql_limit(limit)).add_array(partition_list(partitions))));
}

std::vector<OutboxRow> PostgresStore::unpublished_outbox_in(std::size_t limit,
                                                            std::span<const int> partitions) {
  std::lock_guard lock(impl_->mutex);
  return read_outbox(impl_->query(
      sql::unpublished_in, Params().add(sql_limit(limit)).add_array(partition_list(partitions))));
}

std::string PostgresStore::explain_list(const SagaFilter& filter) {
  std::lock_guard lock(impl_->mutex);
  return impl_->explain_list(filter);
}

}  // namespace sagaflow::postgres
