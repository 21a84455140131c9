// The production pair's figures of tools/bench (--amqp URL --pg DSN): RabbitMQ and PostgreSQL.
//
// 1. four-step sagas per second, durable: the orchestrator here with the PostgreSQL store, alpha
//    and beta as processes of their own (SagaRig, shared with rabbitmq.cpp), persistent
//    messages with confirms; the server's synchronous_commit and fsync are read and printed;
// 2. the saga latency, start to completed (the completing transition committed), per saga,
//    p50 and p99, at half that rate: an open-loop schedule of starts (each saga's latency counts
//    from when it was due to start, so a round that runs late delays the sagas behind it too),
//    after a 2 s pause and a warm-up second on the same schedule that is not counted;
// 3. the raw limits of the same servers: broker round trips per second (what one saga step costs
//    on the broker, rabbitmq-c alone: raw_round_trips) and single-row durable commits per second
//    (libpq alone, one INSERT per transaction), serially on one connection and concurrently on
//    several;
// 4. the ratios: saga messages/s (8 per saga) against the round trips' messages/s (2 each), and
//    saga transitions committed/s (5 per saga) against single-row commits/s;
// 5. side by side (--pg-backlog N, 0 skips it): a backlog of N finished sagas loaded straight
//    into PostgreSQL, then rounds (--pg-side-rounds) of the maximum rate without, and then with,
//    sagaflowd's retention removing them (its defaults: batches, pauses, ages) and a dashboard
//    watching (the event stream and the counts read again after changes, over the admin
//    endpoint), and the median of the rounds' ratios;
// 6. waiting starts (--pg-wait-sagas N): POST /api/sagas waiting for the end, from a few clients
//    one saga at a time each; how long after the saga's end (its final transition committed)
//    each answer reached its client, p50 and p99.
// Where the time went is printed too: the orchestrator thread's share in each port, what each
// process costs per saga in CPU (those that run on this machine: the orchestrator's thread, the
// PostgreSQL server, the broker, the participants), and how long the orchestrator's thread and
// the store's server process waited for a free core (a loaded machine shows there).
// Everything lives in a schema of its own, dropped at the end.
#include <libpq-fe.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <latch>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "admin_endpoint.hpp"  // sagaflowd's
#include "amqp.hpp"
#include "bench.hpp"
#include "config.hpp"            // sagaflowd's defaults
#include "http_client.hpp"       // sagactl's
#include "retention_runner.hpp"  // sagaflowd's
#include "sagaflow/engine/read_pool.hpp"
#include "sagaflow/engine/retention.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/server.hpp"
#include "sagaflow/postgres/inbox_database.hpp"
#include "sagaflow/postgres/postgres_store.hpp"
#include "sagaflow/postgres/session.hpp"
#include "sagaflow/text/printable.hpp"
#include "sagaflow/worker/inbox.hpp"

namespace sagaflow::bench {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// The store as the orchestrator sees it, timed: how long its commits take and what they carry,
// and when each saga's final transition was committed.
class TimedStore final : public Store {
 public:
  explicit TimedStore(Store& inner) : inner_(inner) {}

  std::vector<OutboxRow> commit(const CommitBatch& batch) override {
    const auto started = Clock::now();
    auto written = inner_.commit(batch);
    const auto done = Clock::now();
    commit_seconds += std::chrono::duration<double>(done - started).count();
    if (trace != nullptr && trace->on) {
      for (const auto& w : batch.writes) {
        auto& saga = trace->sagas[w.saga.id];
        saga.commit_started.push_back(started);
        saga.committed.push_back(done);
      }
    }
    ++commits;
    writes += batch.writes.size();
    // The store's pipeline, set-based (adapters/postgres): BEGIN, the commit's lock and mark,
    // COMMIT, the outbox deletion, the leases' lock, and one statement per kind of change: the
    // saga rows created and moved (per round: a saga written k times in a batch takes k rounds),
    // history, outbox, timers cleared and set, routes removed and set. Rows: what the statements
    // write, one per saga row, history record, message, timer and route change.
    statements += 4 + (batch.published.empty() ? 0 : 1);
    std::unordered_map<std::string_view, std::size_t> times;
    std::vector<std::pair<bool, bool>> rounds;  // created, moved
    bool leased = false, history = false, outbox = false, cleared = false, set = false,
         unsubscribed = false, subscribed = false;
    for (const auto& w : batch.writes) {
      const std::size_t r = times[w.saga.id]++;
      if (r == rounds.size()) rounds.emplace_back(false, false);
      (w.expected_version == 0 ? rounds[r].first : rounds[r].second) = true;
      leased |= w.lease_epoch != 0;
      history |= !w.history.empty();
      outbox |= !w.outbox.empty();
      cleared |= !w.timers_cleared.empty();
      set |= !w.timers_set.empty();
      unsubscribed |= !w.unsubscribe.empty();
      subscribed |= !w.subscribe.empty();
      rows += 1 + w.history.size() + w.outbox.size() + w.timers_cleared.size() +
              w.timers_set.size() + w.subscribe.size() + w.unsubscribe.size();
      if (w.saga.status == "completed" || w.saga.status == "compensated" ||
          w.saga.status == "cancelled" || w.saga.status == "failed") {
        ended[w.saga.id] = Finished{done, w.saga.status};
      }
    }
    for (const auto& [created, moved] : rounds) statements += created + moved;
    statements += leased + history + outbox + cleared + set + unsubscribed + subscribed;
    return written;
  }
  std::optional<SagaRow> load(std::string_view id) override { return inner_.load(id); }
  std::vector<SagaRow> load_unfinished() override { return inner_.load_unfinished(); }
  std::optional<std::string> find_by_idempotency_key(std::string_view flow,
                                                     std::string_view key) override {
    return inner_.find_by_idempotency_key(flow, key);
  }
  std::optional<std::string> find_subscriber(std::string_view event,
                                             std::string_view key) override {
    return inner_.find_subscriber(event, key);
  }
  std::vector<TimerRow> due_timers(Timestamp now, std::size_t limit) override {
    const auto started = Clock::now();
    auto rows = inner_.due_timers(now, limit);
    timer_seconds += seconds_since(started);
    return rows;
  }
  std::vector<OutboxRow> unpublished_outbox(std::size_t limit) override {
    return inner_.unpublished_outbox(limit);
  }
  std::vector<HistoryRow> history(std::string_view id) override { return inner_.history(id); }
  std::vector<SagaRow> list(const SagaFilter& filter) override { return inner_.list(filter); }
  std::vector<SagaCount> count_by_flow_and_status() override {
    return inner_.count_by_flow_and_status();
  }
  void save_flow_definition(const FlowDefinitionRow& d) override { inner_.save_flow_definition(d); }
  std::vector<FlowDefinitionRow> flow_definitions() override { return inner_.flow_definitions(); }
  void append_audit(const AuditEntry& e) override { inner_.append_audit(e); }
  std::vector<AuditEntry> audit(std::optional<std::uint64_t> before, std::size_t limit) override {
    return inner_.audit(before, limit);
  }
  void set_flow_paused(std::string_view flow, bool paused) override {
    inner_.set_flow_paused(flow, paused);
  }
  std::vector<std::string> paused_flows() override { return inner_.paused_flows(); }
  void save_schedule(const ScheduleRow& schedule) override { inner_.save_schedule(schedule); }
  std::vector<ScheduleRow> schedules() override { return inner_.schedules(); }
  bool set_schedule_paused(std::string_view name, bool paused) override {
    return inner_.set_schedule_paused(name, paused);
  }
  bool remove_schedule(std::string_view name) override { return inner_.remove_schedule(name); }
  void record_schedule_fire(std::string_view name, Timestamp fire, std::string_view outcome,
                            std::string_view saga_id) override {
    inner_.record_schedule_fire(name, fire, outcome, saga_id);
  }
  std::vector<SagaRow> finished(const FinishedFilter& f) override { return inner_.finished(f); }
  FinishedCount count_finished(const FinishedFilter& f) override {
    return inner_.count_finished(f);
  }
  RemovedRows remove_finished(std::span<const SagaRow> sagas) override {
    return inner_.remove_finished(sagas);
  }

  void reset() {
    commit_seconds = timer_seconds = 0;
    commits = writes = statements = rows = 0;
  }

  struct Finished {
    Clock::time_point at;
    std::string status;
  };
  std::unordered_map<std::string, Finished> ended;  // by saga id
  ChainTrace* trace = nullptr;                      // when set and on: each write's commit, by saga
  double commit_seconds = 0, timer_seconds = 0;
  std::size_t commits = 0, writes = 0, statements = 0, rows = 0;

 private:
  Store& inner_;
};

// ---------------------------------------------------------------------------------------------
// CPU time, read from /proc, of what runs on this machine: the orchestrator's thread, the store's
// server process and the whole PostgreSQL server, the broker, the participants, the machine.
// Per saga, CPU time says what each part costs whatever else the machine runs; the run-queue
// wait (schedstat) says how long a process was ready to run but found no free core.

struct ProcessTimes {
  double cpu = 0;  // user + system, seconds
  pid_t parent = 0;
};

std::optional<ProcessTimes> process_times(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold anything but this
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  ProcessTimes t;
  long long ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {  // field 3 is the state
    if (i == 4) t.parent = std::stoi(field);
    if (i == 14 || i == 15) ticks += std::stoll(field);
  }
  t.cpu = double(ticks) / double(sysconf(_SC_CLK_TCK));
  return t;
}

double cpu_of(pid_t pid) {
  auto t = pid > 0 ? process_times(pid) : std::nullopt;
  return t ? t->cpu : 0;
}

// Seconds `pid` (or this thread, with "thread-self") was ready to run but waited for a core.
double run_queue_wait(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/schedstat");
  long long running = 0, waiting = 0;
  in >> running >> waiting;
  return double(waiting) / 1e9;
}

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return double(user + nice + system + irq + softirq + steal) / double(sysconf(_SC_CLK_TCK));
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

// The server process of the connection with this application_name, when it runs on this
// machine (a remote server's pid means nothing here): 0 otherwise.
pid_t local_backend(postgres::Session& session, const std::string& application_name) {
  auto pid = session.scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                            {application_name});
  if (!pid) return 0;
  const pid_t p = std::stoi(*pid);
  std::ifstream comm("/proc/" + std::to_string(p) + "/comm");
  std::string name;
  comm >> name;
  return name.rfind("postgres", 0) == 0 ? p : 0;
}

// The process listening on this TCP port of this machine (the broker), or 0.
pid_t local_listener(int port) {
  std::set<std::string> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      f >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
          inode;
      const auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: listening
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) {
        sockets.insert("socket:[" + inode + "]");
      }
    }
  }
  if (sockets.empty()) return 0;
  for (pid_t pid : all_pids()) {
    std::error_code ec;
    const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
    for (std::filesystem::directory_iterator it(fds, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code link_error;
      const auto target = std::filesystem::read_symlink(it->path(), link_error);
      if (!link_error && sockets.count(target.string())) return pid;
    }
  }
  return 0;
}

// What runs on this machine (0: not here, or not found).
struct Watched {
  pid_t backend = 0;     // the store's server process
  pid_t postmaster = 0;  // its parent, whose children are every server process
  pid_t broker = 0;      // the process listening on the broker's port
  std::vector<pid_t> participants;
};

// What runs on this machine of a rig whose store connects as `application_name`.
Watched watch(const SagaRig& rig, postgres::Session& session, const std::string& application_name,
              const std::string& url) {
  Watched watched{.participants = rig.participant_pids()};
  watched.backend = local_backend(session, application_name);
  if (auto t = watched.backend > 0 ? process_times(watched.backend) : std::nullopt) {
    watched.postmaster = t->parent;
  }
  const auto broker = rabbitmq::ConnectionSettings::from_url(url);
  if (broker.host == "127.0.0.1" || broker.host == "localhost" || broker.host == "::1") {
    watched.broker = local_listener(broker.port);
  }
  return watched;
}

struct CpuSnapshot {
  Clock::time_point at = Clock::now();
  double machine = machine_busy_seconds();
  double orchestrator = thread_cpu_seconds();  // taken on the orchestrator's thread
  double orchestrator_wait = run_queue_wait("thread-self");
  double backend = 0, backend_wait = 0;
  double server = 0;  // every process of the PostgreSQL server (WAL writer, checkpointer, ...)
  double broker = 0;
  double participants = 0;

  explicit CpuSnapshot(const Watched& w) {
    if (w.backend > 0) {
      backend = cpu_of(w.backend);
      backend_wait = run_queue_wait(std::to_string(w.backend));
    }
    if (w.postmaster > 0) {
      server = cpu_of(w.postmaster);
      for (pid_t pid : all_pids()) {
        auto t = process_times(pid);
        if (t && t->parent == w.postmaster) server += t->cpu;
      }
    }
    broker = cpu_of(w.broker);
    for (auto p : w.participants) participants += cpu_of(p);
  }
};

// ---------------------------------------------------------------------------------------------
// The schema this run's tables live in: created at the start, dropped (with everything in it)
// at the end.
struct Schema {
  Schema(const std::string& dsn, std::string name) : dsn(dsn), name(std::move(name)) {
    postgres::Session session(postgres::PostgresOptions{.dsn = dsn});
    session.execute("CREATE SCHEMA " + this->name);  // our own name: digits and underscores
  }
  ~Schema() {
    try {
      postgres::Session session(postgres::PostgresOptions{.dsn = dsn});
      session.execute("DROP SCHEMA " + name + " CASCADE");
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow_bench: schema %s left in the database: %s\n", name.c_str(),
                   error.what());
    }
  }
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;
  std::string dsn, name;
};

// ---------------------------------------------------------------------------------------------
struct Burst {
  double seconds = 0;
  Round round;
  std::size_t publishes = 0;
  std::size_t messages = 0;  // published and received by the orchestrator
  double average_body = 0;
  // Where the orchestrator thread's time went, in seconds.
  double commit = 0, publish = 0, receive = 0, ack = 0, timers = 0;
  std::size_t commits = 0, writes = 0, statements = 0, rows = 0;
  // CPU seconds over the run, and seconds waiting for a core.
  double machine = 0, orchestrator = 0, backend = 0, server = 0, broker = 0, participants = 0;
  double orchestrator_wait = 0, backend_wait = 0;
};

// A saga failing at step three: commands one, two, three, undo_two, undo_one and their replies;
// transitions: the start and one per reply.
constexpr std::size_t kMessagesPerFailingSaga = 10;
constexpr std::size_t kTransitionsPerFailingSaga = 6;

// The maximum rate: every saga started at once, run to the end; with `failing_every` n, every
// n-th fails at step three (SagaRig::burst).
Burst burst(SagaRig& rig, TimedStore& store, std::size_t count, const Watched& watched,
            std::size_t failing_every = 0) {
  auto& counting = rig.counting();
  counting.reset();
  store.reset();
  const CpuSnapshot before(watched);
  Burst b;
  b.round = rig.burst(count, 600s, failing_every);
  const CpuSnapshot after(watched);
  b.seconds = std::chrono::duration<double>(after.at - before.at).count();

  const std::size_t failing = failing_every == 0 ? 0 : count / failing_every;
  const std::size_t expected =
      kMessagesPerSaga * (count - failing) + kMessagesPerFailingSaga * failing;
  const auto messages = counting.published + counting.received;
  b.messages = messages;
  if (messages != expected || counting.dead_lettered != 0) {
    throw std::runtime_error("the sagas carried " + std::to_string(messages) + " messages, not " +
                             std::to_string(expected));
  }
  b.publishes = counting.publishes;
  b.average_body = double(counting.body_bytes) / double(messages);
  b.commit = store.commit_seconds;
  b.timers = store.timer_seconds;
  b.publish = counting.publish_seconds;
  b.receive = counting.receive_seconds;
  b.ack = counting.ack_seconds;
  b.commits = store.commits;
  b.writes = store.writes;
  b.statements = store.statements;
  b.rows = store.rows;
  b.machine = after.machine - before.machine;
  b.orchestrator = after.orchestrator - before.orchestrator;
  b.orchestrator_wait = after.orchestrator_wait - before.orchestrator_wait;
  b.backend = after.backend - before.backend;
  b.backend_wait = after.backend_wait - before.backend_wait;
  b.server = after.server - before.server;
  b.broker = after.broker - before.broker;
  b.participants = after.participants - before.participants;
  return b;
}

struct Latency {
  std::vector<double> due_ms;    // by saga: when its start was due, from the first counted
  std::vector<double> unsorted;  // by saga: its latency
  std::vector<double> ms;        // sorted
  double seconds = 0;            // first counted start due to last completion
  double late_ms = 0;            // how late the latest start was submitted (the pacer's own lag)
  Round round;
  // What the rounds were like meanwhile: their commits and publishes, in ms, and their size.
  double commit_ms = 0, publish_ms = 0, transitions_per_commit = 0;
  // Where a step's time went (ChainTrace): each segment's times in ms, sorted, over every step
  // of every counted saga; `untraced` counts the sagas whose trace did not fit the four steps
  // (a command published again, say) and were left out.
  std::vector<std::pair<std::string, std::vector<double>>> segments;
  std::size_t untraced = 0;

  double percentile(double p) const { return bench::percentile(ms, p); }
};

// The segments of each step's chain, from the trace of the sagas `ids` (due to start at `due`):
// the start's wait for its round, and per step the commit (its round's wait for it after the
// reply that caused it, then the commit itself), the publish handed to the transport, the way
// to the participant's handler (broker, delivery, the inbox's group), from the handler to the
// reply received (the handler, the participant's commit, the reply's publish and confirm, the
// broker, the delivery), and, off the chain, the confirm as the orchestrator learned it.
void break_down(const ChainTrace& trace, std::span<const std::string> ids,
                std::span<const Clock::time_point> due, Latency& l) {
  constexpr std::size_t kSteps = kTransitionsPerSaga - 1;
  enum { start_wait, round_wait, commit, publish, to_handler, to_reply, confirm, kSegments };
  const char* names[kSegments] = {
      "start due -> its commit begins",
      "reply received -> next commit begins (round wait)",
      "commit (store, whole round)",
      "commit done -> publish handed to transport",
      "publish -> participant handler runs",
      "participant handler -> reply received (its commit, reply, broker)",
      "publish -> confirm learned (off the chain)"};
  std::vector<std::vector<double>> ms(kSegments);
  auto between = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = trace.sagas.find(ids[i]);
    if (it == trace.sagas.end()) {
      ++l.untraced;
      continue;
    }
    const auto& s = it->second;
    const bool handled = s.handled.size() == kSteps;
    if (s.committed.size() != kTransitionsPerSaga || s.published.size() != kSteps ||
        s.received.size() != kSteps || s.confirmed.size() != kSteps ||
        (!s.handled.empty() && !handled)) {
      ++l.untraced;
      continue;
    }
    ms[start_wait].push_back(between(due[i], s.commit_started[0]));
    for (std::size_t k = 0; k < kTransitionsPerSaga; ++k) {
      ms[commit].push_back(between(s.commit_started[k], s.committed[k]));
    }
    for (std::size_t k = 0; k < kSteps; ++k) {
      ms[publish].push_back(between(s.committed[k], s.published[k]));
      ms[confirm].push_back(between(s.published[k], s.confirmed[k]));
      ms[round_wait].push_back(between(s.received[k], s.commit_started[k + 1]));
      if (handled) {
        ms[to_handler].push_back(between(s.published[k], s.handled[k]));
        ms[to_reply].push_back(between(s.handled[k], s.received[k]));
      }
    }
  }
  for (int k = 0; k < kSegments; ++k) {
    if (ms[k].empty()) continue;
    std::sort(ms[k].begin(), ms[k].end());
    l.segments.emplace_back(names[k], std::move(ms[k]));
  }
}

// Prints each segment's p50 and p99 (and how many sagas' traces were left out).
void report_breakdown(const std::string& what, const Latency& l) {
  for (const auto& [name, ms] : l.segments) {
    report(what + " step p50: " + name, bench::percentile(ms, 0.50), "ms");
    report(what + " step p99: " + name, bench::percentile(ms, 0.99), "ms");
  }
  if (l.untraced > 0)
    report(what + " sagas left out of the breakdown", double(l.untraced), "sagas");
}

// The latency: `warmup + count` sagas started on an open-loop schedule of `rate` per second, by
// a thread of their own, whatever the orchestrator's progress; each saga's latency runs from
// when its start was due to when its final transition was committed. The first `warmup` sagas
// run on the same schedule but are not counted: the first round trips after an idle spell are
// slow (a backlog of ~100 ms forms and drains over the first half second).
Latency paced(SagaRig& rig, TimedStore& store, const AmqpOptions& o, std::size_t warmup,
              std::size_t count, double rate, const std::string& prefix) {
  auto& orchestrator = rig.orchestrator();
  const std::size_t total = warmup + count;
  std::vector<Clock::time_point> due(total);
  std::vector<std::future<StartResult>> starts(total);
  std::vector<std::string> ids(total);
  for (std::size_t i = 0; i < total; ++i) ids[i] = prefix + std::to_string(i);
  std::atomic<double> late_ms{0};
  const auto first = Clock::now() + 20ms;
  for (std::size_t i = 0; i < total; ++i) {
    due[i] = first + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(double(i) / rate));
  }
  auto finished = [&] {
    std::size_t n = 0;
    for (const auto& id : ids) n += store.ended.count(id);
    return n;
  };

  ChainTrace trace;
  store.trace = &trace;
  rig.counting().trace = &trace;
  struct Untrace {
    TimedStore& store;
    CountingTransport& counting;
    ~Untrace() {
      store.trace = nullptr;
      counting.trace = nullptr;
    }
  } untrace{store, rig.counting()};

  Latency l;
  {
    std::jthread pacer([&](std::stop_token stop) {
      double late = 0;
      for (std::size_t i = 0; i < total && !stop.stop_requested(); ++i) {
        std::this_thread::sleep_until(due[i]);
        late = std::max(late,
                        std::chrono::duration<double, std::milli>(Clock::now() - due[i]).count());
        starts[i] =
            orchestrator.start(StartRequest{.flow = "bench",
                                            .input = json::object{{"user", ids[i]}, {"amount", 5}},
                                            .saga_id = ids[i]});
      }
      late_ms = late;
    });
    const auto deadline = due.back() + 120s;
    bool counting = false;  // the rounds' figures from the first counted saga on
    // Counting the finished sagas costs a pass over the ids: only once every start is due.
    while (Clock::now() < due.back() || finished() < total) {
      if (!counting && Clock::now() >= due[warmup]) {
        rig.counting().reset();
        store.reset();
        l.round = {};
        counting = true;
        trace.on = true;  // from here on: the counted sagas start now
      }
      l.round.inputs += orchestrator.run_once(o.idle_wait);
      if (++l.round.rounds % 256 == 0) rig.check_participants();
      if (Clock::now() > deadline) {
        throw std::runtime_error("latency run: " + std::to_string(total - finished()) +
                                 " sagas still running 120 s after the last start was due");
      }
    }
  }
  for (auto& s : starts) s.get();  // rethrows a refused start
  Clock::time_point last = due[warmup];
  for (std::size_t i = warmup; i < total; ++i) {
    const auto& f = store.ended.at(ids[i]);
    if (f.status != "completed") {
      throw std::runtime_error("latency run: saga " + ids[i] + " ended " + f.status);
    }
    l.due_ms.push_back(std::chrono::duration<double, std::milli>(due[i] - due[warmup]).count());
    l.unsorted.push_back(std::chrono::duration<double, std::milli>(f.at - due[i]).count());
    last = std::max(last, f.at);
  }
  l.ms = l.unsorted;
  std::sort(l.ms.begin(), l.ms.end());
  l.seconds = std::chrono::duration<double>(last - due[warmup]).count();
  l.late_ms = late_ms;
  const auto& counted = rig.counting();
  l.commit_ms = 1000 * store.commit_seconds / double(std::max<std::size_t>(1, store.commits));
  l.publish_ms =
      1000 * counted.publish_seconds / double(std::max<std::size_t>(1, counted.publishes));
  l.transitions_per_commit = double(store.writes) / double(std::max<std::size_t>(1, store.commits));
  trace.on = false;
  break_down(trace, std::span(ids).subspan(warmup), std::span(due).subspan(warmup), l);
  return l;
}

// ---------------------------------------------------------------------------------------------
// Single-row durable commits: libpq alone, blocking calls, one connection per thread, each
// INSERT its own transaction (autocommit), for `seconds`. Commits per second.
double raw_commits(const std::string& dsn, const std::string& table, int connections,
                   double seconds, std::size_t body_size) {
  const std::string insert = "INSERT INTO " + table + " (id, body) VALUES ($1, $2)";
  const std::string body = body_of(body_size);
  std::latch ready(connections + 1);
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::vector<std::uint64_t> done(connections, 0);
  std::vector<std::string> errors(connections);
  // Ids never used before in this table, by any run.
  static std::atomic<std::uint64_t> next_id{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      PGconn* c = PQconnectdb(dsn.c_str());
      try {
        if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
        PGresult* r = PQprepare(c, "raw_insert", insert.c_str(), 2, nullptr);
        const bool prepared = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!prepared) throw std::runtime_error(PQerrorMessage(c));
      } catch (const std::exception& error) {
        errors[t] = error.what();
        stop = true;
      }
      ready.count_down();
      while (!go && !stop) std::this_thread::yield();
      for (std::uint64_t n = 0; !stop; ++n) {
        const std::string id = std::to_string(next_id++);
        const char* values[2] = {id.c_str(), body.c_str()};
        PGresult* r = PQexecPrepared(c, "raw_insert", 2, values, nullptr, nullptr, 0);
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
          errors[t] = PQerrorMessage(c);
          stop = true;
          break;
        }
        done[t] = n + 1;
      }
      PQfinish(c);
    });
  }
  ready.arrive_and_wait();
  const auto started = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = seconds_since(started);
  for (const auto& e : errors) {
    if (!e.empty()) throw std::runtime_error("raw commits: " + e);
  }
  std::uint64_t total = 0;
  for (auto n : done) total += n;
  return double(total) / elapsed;
}

// ---------------------------------------------------------------------------------------------
// The admin endpoint as sagaflowd serves it, on this run's orchestrator and change feed: reads on
// connections of their own and API requests on a pool of threads (sagaflowd's defaults for
// both), on a free loopback port. Its event streams beat every 250 ms while idle (sagaflowd:
// 15 s), so that a watcher told to stop notices within that.
class BenchAdmin {
 public:
  BenchAdmin(SagaRig& rig, Store& store, const sagaflow::Clock& clock, SagaChangeFeed& changes,
             const std::string& dsn, const std::string& schema)
      : reads_(read_connections(dsn, schema)),
        backend_(rig.orchestrator(), store, rig.flows(), clock, hooks(changes, reads_)),
        api_(backend_, options()),
        served_(api_, on_free_port()) {
    std::string error;
    auto parsed = sagactl::parse_url(served_.url(), error);
    if (!parsed) throw std::runtime_error("admin endpoint: " + error);
    endpoint_ = *parsed;
  }

  const sagactl::Endpoint& endpoint() const { return endpoint_; }

 private:
  static ReadPool read_connections(const std::string& dsn, const std::string& schema) {
    std::vector<std::unique_ptr<Store>> readers;
    for (int i = 0; i < sagaflowd::Config{}.admin_read_connections; ++i) {
      readers.push_back(std::make_unique<postgres::PostgresStore>(postgres::PostgresOptions{
          .dsn = dsn, .schema = schema, .application_name = "sagaflow-admin"}));
    }
    return ReadPool(std::move(readers));
  }
  static http::BackendHooks hooks(SagaChangeFeed& changes, ReadPool& reads) {
    http::BackendHooks h;
    h.changes = &changes;
    h.reads = &reads;
    return h;
  }
  static http::AdminOptions options() {
    http::AdminOptions o;
    o.stream_heartbeat = 250ms;
    return o;
  }
  static sagaflowd::Config on_free_port() {
    sagaflowd::Config c;
    c.admin_address = "127.0.0.1";
    c.admin_port = 0;
    return c;
  }

  ReadPool reads_;
  http::AdminBackendImpl backend_;
  http::AdminApi api_;
  sagactl::Endpoint endpoint_;
  sagaflowd::AdminEndpoint served_;  // last: stopped first
};

// What the dashboard's saga list does while it is open (adapters/http/dashboard/list.js): the
// event stream of every saga's changes, and the counts read again (GET /api/counts) at most every
// 250 ms after a change. Watching from the constructor (its stream open) to stop().
class DashboardWatch {
 public:
  explicit DashboardWatch(const sagactl::Endpoint& endpoint) : endpoint_(endpoint) {
    stream_ = std::thread([this] { guarded([this] { stream(); }); });
    counts_thread_ = std::thread([this] { guarded([this] { read_counts(); }); });
    const auto deadline = Clock::now() + 10s;
    while (!open_ && !stop_ && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    if (!open_) {
      stop();  // rethrows what failed, if anything did
      throw std::runtime_error("dashboard: the event stream did not open within 10 s");
    }
  }
  ~DashboardWatch() {
    try {
      stop();
    } catch (const std::exception&) {
      // stop() was called and reported already, or the run is failing for another reason.
    }
  }
  DashboardWatch(const DashboardWatch&) = delete;
  DashboardWatch& operator=(const DashboardWatch&) = delete;

  // Stops watching; throws what made a request fail.
  void stop() {
    stop_ = true;
    if (stream_.joinable()) stream_.join();
    if (counts_thread_.joinable()) counts_thread_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  std::size_t events() const { return events_; }  // `saga` events streamed
  std::size_t gaps() const { return gaps_; }      // `gap` events: changes missed
  std::size_t counts_read() const { return counts_read_; }

 private:
  template <class Work>
  void guarded(Work work) {
    try {
      work();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      stop_ = true;
    }
  }

  void stream() {
    std::string pending;
    const auto answer =
        sagactl::http_stream(endpoint_, sagactl::HttpRequest{.target = "/api/sagas/events"}, 10s,
                             [&](std::string_view piece) { return take(piece, pending); });
    if (answer.status != 200) {
      throw std::runtime_error("dashboard: the event stream answered " +
                               std::to_string(answer.status) + ": " + text::printable(answer.body));
    }
  }

  // Counts the events that `piece` completes (an event ends with a blank line); false once
  // told to stop.
  // The events are cut off the front once per piece, not once each: a piece (up to 8 KiB, a few
  // dozen events) erased event by event copies its rest again for each (the cost of the
  // bench's reader, not of the endpoint).
  bool take(std::string_view piece, std::string& pending) {
    pending.append(piece);
    std::size_t at = 0;
    for (auto end = pending.find("\n\n"); end != std::string::npos;
         end = pending.find("\n\n", at)) {
      const std::string_view event(pending.data() + at, end - at);
      if (event.find("event: open\n") != std::string_view::npos) open_ = true;
      if (event.find("event: saga\n") != std::string_view::npos) {
        ++events_;
        changed_ = true;
      } else if (event.find("event: gap\n") != std::string_view::npos) {
        ++gaps_;
        changed_ = true;
      }
      at = end + 2;
    }
    pending.erase(0, at);
    return !stop_;
  }

  void read_counts() {
    while (!stop_) {
      std::this_thread::sleep_for(250ms);
      if (!changed_.exchange(false)) continue;
      const auto answer =
          sagactl::http_request(endpoint_, sagactl::HttpRequest{.target = "/api/counts"}, 10s);
      if (answer.status != 200) {
        throw std::runtime_error("dashboard: GET /api/counts answered " +
                                 std::to_string(answer.status) + ": " +
                                 text::printable(answer.body));
      }
      ++counts_read_;
    }
  }

  sagactl::Endpoint endpoint_;
  std::atomic<bool> stop_{false}, open_{false}, changed_{false};
  std::atomic<std::size_t> events_{0}, gaps_{0}, counts_read_{0};
  std::mutex mutex_;
  std::exception_ptr error_;
  std::thread stream_, counts_thread_;
};

// Finished sagas, `count` of them, straight into PostgreSQL in two statements: copies of a
// completed saga of this run and of its history, last changed 30 days ago (past sagaflowd's
// default age for completed sagas), so that retention finds them due. Then VACUUM ANALYZE, as a
// server long in service has done, so that the runs measured meet no vacuum of the load itself.
// Seconds it took.
double load_backlog(const std::string& dsn, const std::string& schema, std::size_t count) {
  const auto started = Clock::now();
  postgres::Session session(
      postgres::PostgresOptions{.dsn = dsn, .schema = schema, .io_timeout = 1h});
  const auto model = session.scalar(
      "SELECT id FROM sagas WHERE status = 'completed' ORDER BY created_at, id LIMIT 1");
  if (!model) throw std::runtime_error("backlog: no completed saga to copy");
  const auto ended =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() - std::chrono::days(30)).time_since_epoch())
          .count();
  const std::vector<postgres::Session::Value> params{*model, std::to_string(ended),
                                                     std::to_string(count)};
  // Created a millisecond apart, oldest first, as they would have been.
  session.query(
      "INSERT INTO sagas (id, flow, flow_version, status, version, idempotency_key, partition, "
      "lease_epoch, state, created_at, updated_at) "
      "SELECT 'backlog-' || g, s.flow, s.flow_version, s.status, s.version, '', s.partition, "
      "s.lease_epoch, s.state, $2::bigint + g, $2::bigint + g "
      "FROM sagas s, generate_series(1, $3::bigint) g WHERE s.id = $1",
      params);
  session.query(
      "INSERT INTO history (saga_id, saga_version, at, kind, step, detail) "
      "SELECT 'backlog-' || g, h.saga_version, $2::bigint + g, h.kind, h.step, h.detail "
      "FROM generate_series(1, $3::bigint) g, history h WHERE h.saga_id = $1",
      params);
  session.execute("VACUUM (ANALYZE) sagas, history");
  return seconds_since(started);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct SideBySide {
  std::vector<double> without, with;                      // sagas/s of each round's two runs
  std::vector<double> commit_without_us, commit_with_us;  // each run's commit time per transition
  double load_seconds = 0;
  std::uint64_t removed = 0;  // sagas retention removed during the runs with it
  std::size_t events = 0, gaps = 0, counts_read = 0;
};

// The maximum rate without, then with, retention removing the backlog and a dashboard watching,
// `pg.side_rounds` times in turn.
SideBySide side_by_side(SagaRig& rig, TimedStore& store, const PgOptions& pg,
                        const std::string& schema, const Watched& watched, const BenchAdmin& admin,
                        const sagaflow::Clock& clock) {
  SideBySide s;
  s.load_seconds = load_backlog(pg.dsn, schema, pg.backlog);

  // sagaflowd's retention as it runs by default: a connection of its own, its batches, pauses
  // and ages; each round's first pass starts at once.
  const sagaflowd::Config daemon;
  postgres::PostgresStore connection(postgres::PostgresOptions{
      .dsn = pg.dsn, .schema = schema, .application_name = "sagaflow-retention"});
  Retention retention(connection, rig.flows(), clock,
                      RetentionOptions{.defaults = {.completed = daemon.retention_completed,
                                                    .compensated = daemon.retention_compensated,
                                                    .cancelled = daemon.retention_cancelled},
                                       .batch = static_cast<std::size_t>(daemon.retention_batch)});
  for (std::size_t round = 0; round < pg.side_rounds; ++round) {
    // As before the latency run: what the load or the previous run left behind settles first.
    std::this_thread::sleep_for(2s);
    const Burst alone = burst(rig, store, pg.sagas, watched);
    s.without.push_back(double(pg.sagas) / alone.seconds);
    s.commit_without_us.push_back(1e6 * alone.commit / double(alone.writes));
    std::this_thread::sleep_for(2s);
    std::optional<DashboardWatch> dashboard;
    if (pg.side_dashboard) dashboard.emplace(admin.endpoint());
    {
      std::optional<sagaflowd::RetentionRunner> runner;
      if (pg.side_retention) {
        runner.emplace(retention, std::chrono::milliseconds(daemon.retention_pause_ms),
                       std::chrono::seconds(daemon.retention_interval_s));
      }
      const Burst beside = burst(rig, store, pg.sagas, watched);
      s.with.push_back(double(pg.sagas) / beside.seconds);
      s.commit_with_us.push_back(1e6 * beside.commit / double(beside.writes));
    }  // the runner's thread has ended: its pass is read below
    if (dashboard) {
      dashboard->stop();
      s.events += dashboard->events();
      s.gaps += dashboard->gaps();
      s.counts_read += dashboard->counts_read();
    }
    if (pg.side_retention) {
      for (const auto& g : retention.last_pass()) s.removed += g.sagas;
    }
  }
  if (pg.side_retention && s.removed == 0) {
    throw std::runtime_error("side by side: retention removed nothing during the runs");
  }
  if (pg.side_dashboard && s.events == 0) {
    throw std::runtime_error("side by side: the dashboard saw no event");
  }
  return s;
}

// Waiting starts over HTTP: `count` sagas, each started by POST /api/sagas waiting for its end,
// from `clients` threads one at a time each, while this thread runs the orchestrator. For each,
// the ms from its end (its final transition committed) to its answer reaching the client; sorted.
std::vector<double> waiting_starts(SagaRig& rig, TimedStore& store, const AmqpOptions& o,
                                   const sagactl::Endpoint& endpoint, std::size_t count,
                                   int clients) {
  std::vector<std::string> ids(count);
  std::vector<Clock::time_point> answered(count);
  std::atomic<std::size_t> next{0};
  std::atomic<int> running{clients};
  std::atomic<bool> failed{false};
  std::vector<std::exception_ptr> errors(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      try {
        for (std::size_t i = next++; i < count && !failed; i = next++) {
          const json::object body{
              {"flow", "bench"},
              {"input", json::object{{"user", "wait-" + std::to_string(i)}, {"amount", 5}}},
              {"wait", json::object{{"end", true}}},
              {"timeout_ms", 30000}};
          const auto answer = sagactl::http_request(endpoint,
                                                    sagactl::HttpRequest{
                                                        .method = "POST",
                                                        .target = "/api/sagas",
                                                        .body = json::serialize(body),
                                                        .content_type = "application/json",
                                                    },
                                                    40s);
          answered[i] = Clock::now();
          const auto parsed = json::parse(answer.body);
          const auto* waited =
              parsed.is_object() ? parsed.as_object().if_contains("waited") : nullptr;
          if (answer.status != 201 || waited == nullptr || !waited->is_string() ||
              waited->as_string() != "end") {
            throw std::runtime_error("waiting start answered " + std::to_string(answer.status) +
                                     ": " + text::printable(answer.body));
          }
          ids[i] = json::value_to<std::string>(parsed.as_object().at("id"));
        }
      } catch (...) {
        errors[c] = std::current_exception();
        failed = true;
      }
      --running;
    });
  }
  auto& orchestrator = rig.orchestrator();
  const auto deadline = Clock::now() + 600s;
  for (std::size_t round = 1; running > 0 || orchestrator.cached_sagas() > 0; ++round) {
    orchestrator.run_once(o.idle_wait);
    if (round % 256 == 0) rig.check_participants();
    if (Clock::now() > deadline) {
      failed = true;
      break;
    }
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  if (failed) throw std::runtime_error("waiting starts: not done within 600 s");
  std::vector<double> ms;
  for (std::size_t i = 0; i < count; ++i) {
    const auto& f = store.ended.at(ids[i]);
    if (f.status != "completed") {
      throw std::runtime_error("waiting starts: saga " + ids[i] + " ended " + f.status);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(answered[i] - f.at).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

std::string show(postgres::Session& session, const std::string& name) {
  // SHOW takes no parameters; current_setting does.
  return session.scalar("SELECT current_setting($1)", {name}).value_or("");
}

// ---------------------------------------------------------------------------------------------
// The peers' workload: the same four-step sagas, the participants built on the worker
// library's transactional inbox in PostgreSQL (peers_participant), each step one committed
// UPDATE of a counter with its dedup row, as the engines Sagaflow is compared with are measured.

// Every 20th saga of the failing run fails at step three: 5%.
constexpr std::size_t kFailingEvery = 20;
// The durable commits a completed saga waits on, one after the other: its 5 transitions and its
// 4 steps in the participants.
constexpr double kPeersCommitChain = kTransitionsPerSaga + 4;

// What the production pair's run measured on the same servers, for the ratios.
struct RawLimits {
  double round_trips = 0;  // broker round trips/s (2 messages each)
  double serial = 0;       // single-row commits/s, one connection
  double concurrent = 0;   // single-row commits/s, several connections
  double pair_sagas = 0;   // the production pair's sagas/s, participants in memory
};

void bench_peers(const AmqpOptions& amqp, const PgOptions& pg, const std::string& schema_name,
                 const std::string& durability, const RawLimits& raw) {
  Schema schema(pg.dsn, schema_name);
  postgres::Session session(postgres::PostgresOptions{.dsn = pg.dsn, .schema = schema.name});
  session.execute("CREATE TABLE counters (step text PRIMARY KEY, n bigint NOT NULL)");
  session.execute(
      "INSERT INTO counters (step, n) VALUES ('one', 0), ('two', 0), ('three', 0), ('four', 0)");

  AmqpOptions o = amqp;
  if (pg.batch != 0) o.batch = pg.batch;
  o.peers_dsn = pg.dsn;
  o.peers_schema = schema.name;
  const std::string application_name = "sagaflow-bench-peers-" + run_id();
  Burst max, failing;
  Latency latency, half, classic, classic_half;
  double half_rate = 0;
  std::size_t classic_sagas = 0;
  std::size_t warmup = 0, half_warmup = 0, completed = 0, compensated = 0, other = 0;
  Watched local;
  {
    postgres::PostgresStore store(postgres::PostgresOptions{
        .dsn = pg.dsn, .schema = schema.name, .application_name = application_name});
    TimedStore timed(store);
    SagaRig rig(o, timed, "bench-peers-" + run_id());
    local = watch(rig, session, application_name, o.url);
    max = burst(rig, timed, pg.peers_sagas, local);
    if (pg.peers_latency_sagas > 0) {
      std::this_thread::sleep_for(2s);  // as for the production pair's latency run
      warmup = static_cast<std::size_t>(std::ceil(pg.peers_rate * pg.latency_warmup));
      latency = paced(rig, timed, o, warmup, pg.peers_latency_sagas, pg.peers_rate, "peers-lat-");
    }
    if (pg.peers_half_sagas > 0) {
      std::this_thread::sleep_for(2s);
      half_rate = double(pg.peers_sagas) / max.seconds / 2;
      half_warmup = static_cast<std::size_t>(std::ceil(half_rate * pg.latency_warmup));
      half = paced(rig, timed, o, half_warmup, pg.peers_half_sagas, half_rate, "peers-half-");
    }
    if (pg.peers_failing_sagas > 0) {
      failing = burst(rig, timed, pg.peers_failing_sagas, local, kFailingEvery);
    }
    if (pg.peers_classic) {
      // The same latency runs, side by side, on classic queues: a topology of their own.
      AmqpOptions c = o;
      c.queue_type = "classic";
      SagaRig classic_rig(c, timed, "bench-peers-classic-" + run_id());
      ++classic_sagas;  // the rig's first saga
      if (pg.peers_latency_sagas > 0) {
        std::this_thread::sleep_for(2s);
        classic = paced(classic_rig, timed, c, warmup, pg.peers_latency_sagas, pg.peers_rate,
                        "peers-classic-lat-");
        classic_sagas += warmup + pg.peers_latency_sagas;
      }
      if (pg.peers_half_sagas > 0) {
        std::this_thread::sleep_for(2s);
        classic_half = paced(classic_rig, timed, c, half_warmup, pg.peers_half_sagas, half_rate,
                             "peers-classic-half-");
        classic_sagas += half_warmup + pg.peers_half_sagas;
      }
    }
    for (const auto& c : store.count_by_flow_and_status()) {
      (c.status == "completed"     ? completed
       : c.status == "compensated" ? compensated
                                   : other) += c.count;
    }
  }  // the participants have stopped: the counters are final

  // With the rig's first saga and the latency run's warm-up.
  const std::size_t failed = pg.peers_failing_sagas / kFailingEvery;
  const std::size_t expected = 1 + pg.peers_sagas + warmup + pg.peers_latency_sagas + half_warmup +
                               pg.peers_half_sagas + pg.peers_failing_sagas - failed +
                               classic_sagas;
  if (completed != expected || compensated != failed || other != 0) {
    throw std::runtime_error("peers: PostgreSQL holds " + std::to_string(completed) +
                             " completed sagas, " + std::to_string(compensated) +
                             " compensated and " + std::to_string(other) + " others, not " +
                             std::to_string(expected) + " and " + std::to_string(failed));
  }
  // A completed saga counted each step once; a compensated one counted one and two and took
  // them back (three failed before its UPDATE): every counter stands at the completed sagas.
  // A compensation run twice, or not at all, or a step applied twice, moves one off.
  for (const auto& row : session.query("SELECT step, n FROM counters ORDER BY step")) {
    if (row.at(1).value_or("") != std::to_string(completed)) {
      throw std::runtime_error("peers: counter " + row.at(0).value_or("?") + " is " +
                               row.at(1).value_or("NULL") + ", not the " +
                               std::to_string(completed) + " completed sagas");
    }
  }
  // Each command applied is remembered once: 4 per completed saga, 5 per compensated one (three's
  // business failure, undo_two, undo_one and the two steps before).
  const auto remembered = session.scalar("SELECT count(*) FROM sagaflow_inbox").value_or("");
  if (remembered != std::to_string(4 * completed + 5 * compensated)) {
    throw std::runtime_error("peers: the inbox remembers " + remembered + " commands, not " +
                             std::to_string(4 * completed + 5 * compensated));
  }

  const std::string what = "Peers' workload";
  // What one run gave, and its ratios to the raw limits of the same servers: the messages the
  // orchestrator sent and received against the raw round trips' messages, and what was
  // committed (the orchestrator's transitions and the participants' commands, one dedup row
  // each) against single-row commits.
  auto throughput = [&](const std::string& run, const Burst& b, std::size_t sagas) {
    const double per_s = double(sagas) / b.seconds;
    const double messages = double(b.messages) / b.seconds;
    const double committed = (double(b.writes) + double(b.messages) / 2) / b.seconds;
    report(what + run + " four-step sagas, " + durability + ", inbox participants", per_s,
           "sagas/s");
    report(what + run + " transitions and participant commands committed", committed, "commits/s");
    report(what + run + " ratio: saga messages/s / raw round-trip messages/s",
           messages / (2 * raw.round_trips), "ratio");
    report(what + run + " ratio: committed/s / serial single-row commits/s", committed / raw.serial,
           "ratio");
    report(what + run + " ratio: committed/s / concurrent single-row commits/s",
           committed / raw.concurrent, "ratio");
    report(what + run + " ratio: sagas/s / production pair's sagas/s (in-memory participants)",
           per_s / raw.pair_sagas, "ratio");
    const double per_saga = 1000.0 / double(sagas);
    report(what + run + " CPU per saga: participant processes", b.participants * per_saga, "ms");
    if (local.backend > 0) {
      report(what + run + " CPU per saga: PostgreSQL, every server process", b.server * per_saga,
             "ms");
    }
  };
  throughput("", max, pg.peers_sagas);
  if (pg.peers_latency_sagas > 0) {
    report(what + " latency run: paced start rate", pg.peers_rate, "sagas/s");
    report(what + " latency run: sagas", double(pg.peers_latency_sagas), "sagas");
    report(what + " latency run: achieved rate", double(pg.peers_latency_sagas) / latency.seconds,
           "sagas/s");
    report(what + " saga latency p50, start to completed", latency.percentile(0.50), "ms");
    report(what + " saga latency p99, start to completed", latency.percentile(0.99), "ms");
    report(what + " saga latency max, start to completed", latency.ms.back(), "ms");
    // The floor of the chain of durable commits a saga waits on.
    const double chain_ms = kPeersCommitChain * 1000.0 / raw.serial;
    report(what + " ratio: latency p50 / 9 serial single-row commit times",
           latency.percentile(0.50) / chain_ms, "ratio");
    report(what + " ratio: latency p99 / 9 serial single-row commit times",
           latency.percentile(0.99) / chain_ms, "ratio");
    report_breakdown(what + " latency run:", latency);
  }
  if (pg.peers_half_sagas > 0) {
    const std::string run = " at half the maximum:";
    report(what + run + " paced start rate", half_rate, "sagas/s");
    report(what + run + " achieved rate", double(pg.peers_half_sagas) / half.seconds, "sagas/s");
    report(what + run + " saga latency p50, start to completed", half.percentile(0.50), "ms");
    report(what + run + " saga latency p99, start to completed", half.percentile(0.99), "ms");
    report(what + run + " saga latency max, start to completed", half.ms.back(), "ms");
    report_breakdown(what + run, half);
  }
  if (pg.peers_classic) {
    // Side by side with the runs above, the same rates: what classic queues move.
    auto side = [&](const std::string& run, const Latency& quorum, const Latency& l) {
      report(what + run + " saga latency p50, start to completed", l.percentile(0.50), "ms");
      report(what + run + " saga latency p99, start to completed", l.percentile(0.99), "ms");
      report(what + run + " ratio: p50 / quorum queues' p50",
             l.percentile(0.50) / quorum.percentile(0.50), "ratio");
      report(what + run + " ratio: p99 / quorum queues' p99",
             l.percentile(0.99) / quorum.percentile(0.99), "ratio");
      report_breakdown(what + run, l);
    };
    if (pg.peers_latency_sagas > 0) side(" latency run, classic queues:", latency, classic);
    if (pg.peers_half_sagas > 0) side(" at half the maximum, classic queues:", half, classic_half);
  }
  if (pg.peers_failing_sagas > 0) {
    const std::string run = " with 5% failing at step three:";
    throughput(run, failing, pg.peers_failing_sagas);
    report(what + run + " sagas compensated, counters checked", double(failed), "sagas");
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The broker's options, side by side on the same broker: the raw round trip of one saga step
// (raw_round_trips: a persistent command with a confirm, a persistent reply with a confirm,
// both acked) under each option that keeps every guarantee, alternating the variants over
// `rounds` so that the machine's load falls on each: round trips per second with many in
// flight, the broker's CPU per round trip, and the mean round trip when one at a time is in
// flight (the latency a light load sees).
void bench_broker_options(const AmqpOptions& amqp, std::size_t body_size, std::size_t round_trips,
                          int rounds) {
  struct Variant {
    std::string name;
    RawOptions options;
    std::vector<double> per_s, cpu_us, serial_ms;
  };
  const RawOptions base{.url = amqp.url,
                        .messages = round_trips,
                        .body_size = body_size,
                        .prefetch = 512,
                        .worker_prefetch = 512};
  auto with = [&](auto change) {
    RawOptions o = base;
    change(o);
    return o;
  };
  std::vector<Variant> variants{
      {"quorum queues (today's)", base, {}, {}, {}},
      {"classic queues", with([](RawOptions& o) { o.queue_type = "classic"; }), {}, {}, {}},
      {"quorum, one ack per message (no multi-ack)",
       with([](RawOptions& o) {
         o.replier_multi_ack = false;
         o.requester_ack_every = 1;
       }),
       {},
       {},
       {}},
      {"quorum, prefetch 32",
       with([](RawOptions& o) { o.prefetch = o.worker_prefetch = 32; }),
       {},
       {},
       {}},
      {"quorum, prefetch 4096",
       with([](RawOptions& o) { o.prefetch = o.worker_prefetch = 4096; }),
       {},
       {},
       {}},
      {"quorum, 64-byte bodies", with([](RawOptions& o) { o.body_size = 64; }), {}, {}, {}},
      {"quorum, 4096-byte bodies", with([](RawOptions& o) { o.body_size = 4096; }), {}, {}, {}},
  };
  const auto broker = rabbitmq::ConnectionSettings::from_url(amqp.url);
  const pid_t broker_pid =
      broker.host == "127.0.0.1" || broker.host == "localhost" ? local_listener(broker.port) : 0;
  constexpr std::size_t kSerialRoundTrips = 500;
  for (int round = 0; round < std::max(1, rounds); ++round) {
    for (auto& v : variants) {
      RawOptions o = v.options;
      o.queue = "bench-" + run_id() + ".options";
      const double cpu_before = cpu_of(broker_pid);
      v.per_s.push_back(raw_round_trips(o));
      v.cpu_us.push_back(1e6 * (cpu_of(broker_pid) - cpu_before) / double(o.messages));
      o.window = 1;
      o.messages = kSerialRoundTrips;
      v.serial_ms.push_back(1000.0 / raw_round_trips(o));
    }
  }
  const std::string what = "Broker option ";
  const double base_rate = median(variants.front().per_s);
  const double base_serial = median(variants.front().serial_ms);
  for (const auto& v : variants) {
    report(what + v.name + ": round trips", median(v.per_s), "round trips/s");
    report(what + v.name + ": ratio to quorum's round trips", median(v.per_s) / base_rate, "ratio");
    if (broker_pid > 0) {
      report(what + v.name + ": broker CPU per round trip", median(v.cpu_us), "us");
    }
    report(what + v.name + ": one at a time, mean round trip", median(v.serial_ms), "ms");
    report(what + v.name + ": ratio to quorum's mean round trip", median(v.serial_ms) / base_serial,
           "ratio");
  }
}

void bench_in_flight(const AmqpOptions& o, const PgOptions& pg, const std::string& schema_name,
                     postgres::Session& session);

void bench_postgres(const AmqpOptions& amqp, const PgOptions& pg) {
  const std::string id = run_id();
  std::string schema_name = "bench_" + id;
  std::replace(schema_name.begin(), schema_name.end(), '-', '_');
  Schema schema(pg.dsn, schema_name);
  postgres::Session session(postgres::PostgresOptions{.dsn = pg.dsn});

  // What durability means on this server, for the store's connection (same DSN, same role).
  const auto synchronous_commit = show(session, "synchronous_commit");
  const auto fsync = show(session, "fsync");
  const bool durable = synchronous_commit != "off" && fsync == "on";
  setting("PostgreSQL server_version", show(session, "server_version"));
  setting("PostgreSQL synchronous_commit", synchronous_commit);
  setting("PostgreSQL fsync", fsync);
  for (auto name : {"wal_sync_method", "full_page_writes", "commit_delay", "commit_siblings",
                    "wal_buffers", "shared_buffers", "max_wal_size"}) {
    setting(std::string("PostgreSQL ") + name, show(session, name));
  }
  if (!durable) {
    std::fprintf(stderr,
                 "sagaflow_bench: PostgreSQL commits are NOT durable here (synchronous_commit=%s, "
                 "fsync=%s): the figures below are not the durable ones\n",
                 synchronous_commit.c_str(), fsync.c_str());
  }
  const std::string durability = durable ? "durable" : "NOT durable";

  AmqpOptions o = amqp;
  if (pg.batch != 0) o.batch = pg.batch;
  const std::string application_name = "sagaflow-bench-" + id;
  Burst max;
  Watched local;
  Latency latency;
  std::size_t warmup = 0;
  double rate = 0;
  std::optional<SideBySide> sides;
  std::vector<double> waited;  // ms, sorted
  {
    postgres::PostgresStore store(postgres::PostgresOptions{
        .dsn = pg.dsn, .schema = schema.name, .application_name = application_name});
    TimedStore timed(store);
    // As in sagaflowd: the orchestrator tells the admin endpoint's feed of every commit.
    SagaChangeFeed changes;
    SagaRig rig(o, timed, "bench-pg-" + id, &changes);
    const Watched watched = watch(rig, session, application_name, o.url);

    max = burst(rig, timed, pg.sagas, watched);
    local = watched;
    rate = pg.latency_rate > 0 ? pg.latency_rate : double(pg.sagas) / max.seconds / 2;
    if (pg.latency_sagas > 0) {
      // What the burst leaves behind (autovacuum of the rows it wrote, the broker compacting its
      // queues' logs) is not the latency at half the rate: let it settle first.
      std::this_thread::sleep_for(2s);
      warmup = static_cast<std::size_t>(std::ceil(rate * pg.latency_warmup));
      latency = paced(rig, timed, o, warmup, pg.latency_sagas, rate, "lat-");
    }
    if (pg.backlog > 0 || pg.wait_sagas > 0) {
      SystemClock clock;
      BenchAdmin admin(rig, store, clock, changes, pg.dsn, schema.name);
      if (pg.backlog > 0) {
        sides = side_by_side(rig, timed, pg, schema.name, watched, admin, clock);
      }
      if (pg.wait_sagas > 0) {
        waited = waiting_starts(rig, timed, o, admin.endpoint(), pg.wait_sagas, pg.wait_clients);
      }
    }

    std::size_t completed = 0, other = 0;
    for (const auto& c : store.count_by_flow_and_status()) {
      (c.status == "completed" ? completed : other) += c.count;
    }
    // With the rig's first saga, the latency run's warm-up, the side-by-side runs and the
    // backlog's sagas that retention left.
    auto expected = 1 + pg.sagas + warmup + pg.latency_sagas + pg.wait_sagas;
    if (sides) expected += 2 * pg.sagas * pg.side_rounds + pg.backlog - sides->removed;
    if (completed != expected || other != 0) {
      throw std::runtime_error("PostgreSQL holds " + std::to_string(completed) +
                               " completed sagas and " + std::to_string(other) + " others, not " +
                               std::to_string(expected) + " completed");
    }
  }

  const double sagas_per_s = double(pg.sagas) / max.seconds;
  const double saga_messages = kMessagesPerSaga * sagas_per_s;
  const double transitions = kTransitionsPerSaga * sagas_per_s;
  const std::string what = "RabbitMQ+PostgreSQL";
  report(what + " four-step sagas, " + durability + ", 2 processes", sagas_per_s, "sagas/s");
  report(what + " saga transitions committed (5 per saga)", transitions, "transitions/s");
  report(what + " orchestrator inputs per round", double(max.round.inputs) / max.round.rounds,
         "inputs/round");
  report(what + " transitions per commit", double(max.writes) / double(max.commits),
         "transitions/commit");
  report(what + " statements per commit", double(max.statements) / double(max.commits),
         "statements/commit");
  report(what + " rows per transition", double(max.rows) / double(max.writes), "rows/transition");
  report(what + " commit time (mean)", 1000 * max.commit / double(max.commits), "ms");
  // Where the orchestrator thread's time went during the maximum-rate run.
  report(what + " orchestrator share: PostgreSQL commit", max.commit / max.seconds, "share");
  report(what + " orchestrator share: publish (confirmed)", max.publish / max.seconds, "share");
  report(what + " orchestrator share: receive (incl. idle wait)", max.receive / max.seconds,
         "share");
  report(what + " orchestrator share: ack", max.ack / max.seconds, "share");
  report(what + " orchestrator share: timer poll", max.timers / max.seconds, "share");
  // What each part costs per saga in CPU, whatever else the machine runs, and the rate those
  // costs allow on this machine's cores were nothing else running.
  const double per_saga = 1000.0 / double(pg.sagas);
  double sum = max.orchestrator + max.participants;
  report(what + " CPU per saga: orchestrator thread", max.orchestrator * per_saga, "ms");
  if (local.backend > 0) {
    report(what + " CPU per saga: the store's PostgreSQL process", max.backend * per_saga, "ms");
    report(what + " CPU per saga: PostgreSQL, every server process", max.server * per_saga, "ms");
    sum += max.server;
  }
  if (local.broker > 0) {
    report(what + " CPU per saga: RabbitMQ", max.broker * per_saga, "ms");
    sum += max.broker;
  }
  report(what + " CPU per saga: participant processes", max.participants * per_saga, "ms");
  if (local.backend > 0 && local.broker > 0) {
    const double cores = double(std::max(1u, std::thread::hardware_concurrency()));
    report(what + " CPU per saga: all of them", sum * per_saga, "ms");
    report(what + " CPU-bound ceiling on " + std::to_string(int(cores)) + " cores (nothing else)",
           cores * double(pg.sagas) / sum, "sagas/s");
  }
  report(what + " machine busy (every process, others' too)", max.machine / max.seconds, "cores");
  report(what + " orchestrator thread waiting for a core", max.orchestrator_wait / max.seconds,
         "share");
  if (local.backend > 0) {
    report(what + " store's PostgreSQL process busy", max.backend / max.seconds, "share");
    report(what + " store's PostgreSQL process waiting for a core", max.backend_wait / max.seconds,
           "share");
  }

  if (pg.latency_sagas > 0) {
    // Named alike in every run, so that runs compare: the rate and the count are figures of
    // their own.
    report(what + " latency run: paced start rate" +
               (pg.latency_rate > 0 ? " (--pg-rate)" : " (half the maximum)"),
           rate, "sagas/s");
    report(what + " latency run: sagas", double(pg.latency_sagas), "sagas");
    report(what + " latency run: warm-up sagas before them, not counted", double(warmup), "sagas");
    report(what + " latency run: achieved rate", double(pg.latency_sagas) / latency.seconds,
           "sagas/s");
    report(what + " saga latency p50, start to completed", latency.percentile(0.50), "ms");
    report(what + " saga latency p99, start to completed", latency.percentile(0.99), "ms");
    report(what + " saga latency max, start to completed", latency.ms.back(), "ms");
    report(what + " latency run: latest start submitted late by", latency.late_ms, "ms");
    report(what + " latency run: transitions per commit", latency.transitions_per_commit,
           "transitions/commit");
    report(what + " latency run: commit time (mean)", latency.commit_ms, "ms");
    report(what + " latency run: publish time, confirmed (mean)", latency.publish_ms, "ms");
    report_breakdown(what + " latency run:", latency);
    if (!pg.latency_csv.empty()) {
      std::ofstream csv(pg.latency_csv);
      csv << "saga,due_ms,latency_ms\n";
      for (std::size_t i = 0; i < latency.unsorted.size(); ++i) {
        csv << i << ',' << latency.due_ms[i] << ',' << latency.unsorted[i] << '\n';
      }
    }
  }

  if (sides) {
    const auto& s = *sides;
    report(what + " side by side: backlog of finished sagas loaded", double(pg.backlog), "sagas");
    report(what + " side by side: backlog load and vacuum time", s.load_seconds, "s");
    std::vector<double> ratios;
    for (std::size_t i = 0; i < s.with.size(); ++i) ratios.push_back(s.with[i] / s.without[i]);
    report(what + " side by side: rounds (each a run without, then one with)",
           double(ratios.size()), "rounds");
    // The figures' names say "retention ... and a dashboard"; with --pg-side-with one of them,
    // this says which ran.
    setting(what + " side by side: the runs with add", pg.side_retention && pg.side_dashboard
                                                           ? "both"
                                                       : pg.side_retention ? "retention"
                                                                           : "dashboard");
    report(what + " side by side: sagas/s without retention or dashboard (median)",
           median(s.without), "sagas/s");
    report(what +
               " side by side: sagas/s with retention removing the backlog and a dashboard "
               "(median)",
           median(s.with), "sagas/s");
    report(what + " side by side: ratio with / without (median of the rounds')", median(ratios),
           "ratio");
    report(what + " side by side: ratio with / without, lowest round",
           *std::min_element(ratios.begin(), ratios.end()), "ratio");
    report(what + " side by side: ratio with / without, highest round",
           *std::max_element(ratios.begin(), ratios.end()), "ratio");
    report(what + " side by side: sagas retention removed during the runs", double(s.removed),
           "sagas");
    // How the commit's time grows with the store: the maximum-rate run above met a store of a
    // few thousand sagas; these, the backlog's million finished ones (and retention removing
    // them).
    const double empty_commit = 1e6 * max.commit / double(max.writes);
    report(what + " side by side: commit time per transition, a million finished sagas kept",
           median(s.commit_without_us), "us");
    report(what + " side by side: commit time per transition, a million finished, with the add",
           median(s.commit_with_us), "us");
    report(what + " side by side: commit time ratio, a million finished / the first run's",
           median(s.commit_without_us) / empty_commit, "ratio");
    report(what + " side by side: dashboard saga events streamed", double(s.events), "events");
    report(what + " side by side: dashboard gap events (changes missed)", double(s.gaps), "events");
    report(what + " side by side: dashboard counts read", double(s.counts_read), "requests");
    if (s.removed >= pg.backlog) {
      std::fprintf(stderr,
                   "sagaflow_bench: retention removed the whole backlog before the run with it "
                   "ended: a larger --pg-backlog keeps it removing throughout\n");
    }
  }
  if (!waited.empty()) {
    report(what + " waiting start: sagas (waiting for the end over HTTP)", double(waited.size()),
           "sagas");
    report(what + " waiting start: answer after the saga's end p50", percentile(waited, 0.50),
           "ms");
    report(what + " waiting start: answer after the saga's end p99", percentile(waited, 0.99),
           "ms");
    report(what + " waiting start: answer after the saga's end max", waited.back(), "ms");
  }

  // The raw limits, the participants stopped.
  const auto body_size = static_cast<std::size_t>(max.average_body + 0.5);
  const double round_trips = raw_round_trips(RawOptions{.url = o.url,
                                                        .queue = "bench-pg-" + id + ".raw",
                                                        .messages = 4 * pg.sagas,
                                                        .body_size = body_size,
                                                        .prefetch = o.prefetch,
                                                        .worker_prefetch = o.worker_prefetch,
                                                        .services = 2});
  report("RabbitMQ raw round trips: command + reply, quorum, confirmed, acked", round_trips,
         "round trips/s");
  report("RabbitMQ raw round trips as messages (2 per round trip)", 2 * round_trips, "messages/s");
  report(what + " ratio: saga messages/s / raw round-trip messages/s",
         saga_messages / (2 * round_trips), "ratio");

  const std::string table = schema.name + ".raw_commits";
  session.execute("CREATE TABLE " + table + " (id bigint PRIMARY KEY, body text NOT NULL)");
  const double serial = raw_commits(pg.dsn, table, 1, pg.raw_seconds, body_size);
  report("PostgreSQL raw single-row commits, serial (1 connection), " + durability, serial,
         "commits/s");
  const double concurrent =
      raw_commits(pg.dsn, table, pg.raw_connections, pg.raw_seconds, body_size);
  report("PostgreSQL raw single-row commits, " + std::to_string(pg.raw_connections) +
             " connections, " + durability,
         concurrent, "commits/s");
  report(what + " ratio: transitions/s / serial single-row commits/s", transitions / serial,
         "ratio");
  report(what + " ratio: transitions/s / concurrent single-row commits/s", transitions / concurrent,
         "ratio");

  if (!pg.in_flight.empty()) bench_in_flight(o, pg, schema.name + "_flight", session);

  if (pg.peers_sagas > 0) {
    bench_peers(amqp, pg, schema.name + "_peers", durability,
                RawLimits{.round_trips = round_trips,
                          .serial = serial,
                          .concurrent = concurrent,
                          .pair_sagas = sagas_per_s});
  }
}

// ---------------------------------------------------------------------------------------------
// Cost as work grows, on a store and a rig of their own: the maximum rate and the latency at one
// fixed rate (a third of the first maximum) with no saga waiting, then with each of `pg.in_flight`
// sagas in flight, each waiting for an event that never comes (its saga row, timer and
// subscription in the store, its state in the orchestrator's cache); the heap they take (what
// this process allocated and did not free while they started) and the commit's mean time.
void bench_in_flight(const AmqpOptions& o, const PgOptions& pg, const std::string& schema_name,
                     postgres::Session& session) {
  Schema schema(pg.dsn, schema_name);
  const std::string id = run_id();
  const std::string application_name = "sagaflow-bench-flight-" + id;
  postgres::PostgresStore store(postgres::PostgresOptions{
      .dsn = pg.dsn, .schema = schema.name, .application_name = application_name});
  TimedStore timed(store);
  SagaRig rig(o, timed, "bench-flight-" + id);
  const Watched watched = watch(rig, session, application_name, o.url);
  const std::string what = "In flight:";

  std::size_t completed = 1;  // the rig's first saga
  double rate = 0, first_max = 0;
  auto measure = [&](const std::string& label) {
    const Burst b = burst(rig, timed, pg.sagas, watched);
    const double sagas_per_s = double(pg.sagas) / b.seconds;
    if (rate == 0) {
      // A third of the first maximum: half of it met a saturated machine whenever that first
      // burst ran fast, and the latency then measured the queue, not the sagas in flight.
      first_max = sagas_per_s;
      rate = sagas_per_s / 3;
    }
    const auto warmup = static_cast<std::size_t>(std::ceil(rate * pg.latency_warmup));
    std::this_thread::sleep_for(2s);
    const Latency l = paced(rig, timed, o, warmup, pg.in_flight_latency_sagas, rate,
                            "flight-" + std::to_string(rig.waiting()) + "-");
    completed += pg.sagas + warmup + pg.in_flight_latency_sagas;
    report(what + " " + label + ": four-step sagas/s", sagas_per_s, "sagas/s");
    report(what + " " + label + ": sagas/s ratio to none waiting", sagas_per_s / first_max,
           "ratio");
    // Per transition: the rounds at the maximum rate are as large as the sagas in flight make
    // them, so a commit's mean time says more about the round than about the store.
    report(what + " " + label + ": commit time per transition at the maximum",
           1e6 * b.commit / double(b.writes), "us");
    report(what + " " + label + ": latency p50 at " + std::to_string(int(rate)) + " sagas/s",
           l.percentile(0.50), "ms");
    report(what + " " + label + ": latency p99 at " + std::to_string(int(rate)) + " sagas/s",
           l.percentile(0.99), "ms");
  };
  measure("none waiting");
  for (const std::size_t level : pg.in_flight) {
    if (level <= rig.waiting()) continue;
    const std::size_t adding = level - rig.waiting();
    const auto heap_before = heap_counted();
    count_heap(true);
    const auto started = Clock::now();
    rig.start_waiting(adding, 600s);
    const double seconds = seconds_since(started);
    count_heap(false);
    const auto heap_after = heap_counted();
    const std::string label = std::to_string(level) + " waiting";
    report(what + " " + label + ": starting them", double(adding) / seconds, "sagas/s");
    report(what + " " + label + ": heap per waiting saga (orchestrator process)",
           (double(heap_after) - double(heap_before)) / double(adding), "bytes");
    std::this_thread::sleep_for(2s);
    measure(label);
  }

  std::size_t done = 0, waiting = 0, other = 0;
  for (const auto& c : store.count_by_flow_and_status()) {
    (c.status == "completed" ? done : c.status == "waiting" ? waiting : other) += c.count;
  }
  if (done != completed || waiting != rig.waiting() || other != 0) {
    throw std::runtime_error(
        "in flight: PostgreSQL holds " + std::to_string(done) + " completed, " +
        std::to_string(waiting) + " waiting and " + std::to_string(other) + " other sagas, not " +
        std::to_string(completed) + " and " + std::to_string(rig.waiting()) + " waiting");
  }
}

std::unique_ptr<worker::Dispatcher> peers_participant(const std::string& service,
                                                      const AmqpOptions& o) {
  if (service != "alpha" && service != "beta") return nullptr;
  auto database = std::make_shared<postgres::InboxDatabase>(
      postgres::PostgresOptions{.dsn = o.peers_dsn,
                                .schema = o.peers_schema,
                                .application_name = "sagaflow-bench-" + service});
  auto dispatcher = std::make_unique<worker::Dispatcher>(
      std::make_shared<worker::Inbox>(database, worker::InboxOptions{.scope = service}));
  // The step's counter moved by `by`, in the command's savepoint of the inbox's transaction.
  auto count = [](const worker::Command& command, const char* step, int by) {
    const auto rows = command.transaction->query(
        "UPDATE counters SET n = n + $1 WHERE step = $2 RETURNING n", {std::to_string(by), step});
    if (rows.size() != 1) throw std::runtime_error(std::string("no counter ") + step);
  };
  // Every reply says when its handler ran, for the latency runs' breakdown (ChainTrace).
  auto stamped = [](json::object reply) {
    reply[kHandledField] =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    return worker::Result::ok(std::move(reply));
  };
  auto step = [&](const char* name, const char* counter, int by) {
    dispatcher->on(service + "." + name,
                   [count, stamped, counter, by](const worker::Command& command) {
                     count(command, counter, by);
                     return stamped({});
                   });
  };
  if (service == "alpha") {
    // Step one's id is the saga's user: step three reads it to fail the sagas meant to.
    dispatcher->on("alpha.one", [count, stamped](const worker::Command& command) {
      count(command, "one", 1);
      return stamped(json::object{{"id", command.payload.as_object().at("user").as_string()}});
    });
    dispatcher->on("alpha.three", [count, stamped](const worker::Command& command) {
      const std::string_view id = command.payload.as_object().at("id").as_string();
      if (id.substr(0, kFailingUserPrefix.size()) == kFailingUserPrefix) {
        return worker::Result::business_failure("Declined");
      }
      count(command, "three", 1);
      return stamped({});
    });
    step("undo_one", "one", -1);
    step("undo_three", "three", -1);
  } else {
    step("two", "two", 1);
    step("four", "four", 1);
    step("undo_two", "two", -1);
  }
  return dispatcher;
}

}  // namespace sagaflow::bench
