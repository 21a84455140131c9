// tools/bench: the engine's figures, measured side by side in one run.
//
//   sagaflow_bench [--dir DIR] [--json FILE] [--sagas N] [--amqp URL [--amqp-sagas N]
//                  [--amqp-only] [--amqp-batch N] [--amqp-prefetch N] [--amqp-worker-prefetch N]
//                  [--amqp-worker-threads N] [--amqp-idle-wait MS] [--amqp-queue-type T]
//                  [--pg DSN [--pg-only] [--pg-sagas N] [--pg-latency-sagas N] [--pg-rate R]
//                  [--pg-batch N] [--pg-raw-seconds S] [--pg-raw-connections N]
//                  [--pg-latency-warmup S] [--pg-latency-csv FILE] [--pg-backlog N]
//                  [--pg-side-rounds N] [--pg-side-with retention|dashboard|both]
//                  [--pg-wait-sagas N] [--pg-wait-clients N]
//                  [--pg-in-flight N,N,... (0: none)] [--pg-in-flight-latency-sagas N]
//                  [--peers-sagas N]
//                  [--peers-latency-sagas N] [--peers-rate R] [--peers-half-sagas N]
//                  [--peers-failing-sagas N] [--peers-classic]]] [--broker-options N]
//   sagaflow_bench --serve SERVICE --amqp URL --prefix P [--amqp-worker-prefetch N]
//                  [--amqp-worker-threads N] [--amqp-queue-type T]
//                  [--peers-dsn DSN --peers-schema S]
//
// 1. engine alone: transitions per second on one core, fake ports (no store, no transport);
// 2. memory per in-flight saga (heap bytes held by the orchestrator's state);
// 3. embedded end to end: four-step sagas per second through the in-process bus and a SQLite
//    file (WAL, durable commits), participants on their own thread;
// 4. with --amqp (rabbitmq.cpp): four-step sagas through RabbitMQ with the participants as
//    processes (this binary in --serve mode), the raw broker limit for as many messages, and
//    their ratio;
// 5. with --amqp and --pg (postgres.cpp): the production pair, RabbitMQ and PostgreSQL: sagas
//    per second, the saga latency at half that rate, the raw broker round trip and the raw
//    single-row commits of the same servers, and the ratios; side by side, the sagas per second
//    without and with retention removing a backlog of finished sagas and a dashboard watching;
//    a waiting start's answer after the saga's end. --pg-only skips 1-4;
// 6. with --amqp and --pg (postgres.cpp): the peers' workload, the same sagas with participants
//    on the worker library's transactional inbox in PostgreSQL (each step one committed UPDATE
//    of a counter): sagas per second, the latency at a fixed rate and at half the maximum (each
//    with where a step's time went: commit, publish, broker and participant, reply, round
//    wait; ChainTrace in amqp.hpp), sagas per second with 5%
//    failing at step three (the counters checked afterwards), each as a ratio to 5's raw limits.
//    --peers-sagas 0 skips it;
// 7. with --amqp and --broker-options N (postgres.cpp): the broker's options side by side, N raw
//    round trips of a saga step each (persistent, confirmed, acked): quorum against classic
//    queues, one ack per message against multi-acks, prefetch 32 and 4096 against 512, 64- and
//    4096-byte bodies against the sagas' ~330: round trips/s, the broker's CPU per round trip,
//    the mean round trip one at a time, and each as a ratio to today's quorum queues.
#include "bench.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <new>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/rabbitmq/settings.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "sagaflow/testing/manual_clock.hpp"

// Heap bytes in use, counted by the global operator new/delete whatever the allocator, so that
// the memory figure means the same with glibc's malloc and with jemalloc.
// Counting is switched on only while memory is measured, so it costs the other figures nothing.
namespace {
std::atomic<bool> counting_heap{false};
std::atomic<std::int64_t> heap_in_use{0};
}  // namespace

void* operator new(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (counting_heap.load(std::memory_order_relaxed)) {
    heap_in_use += static_cast<std::int64_t>(malloc_usable_size(p));
  }
  return p;
}
void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  if (counting_heap.load(std::memory_order_relaxed)) {
    heap_in_use -= static_cast<std::int64_t>(malloc_usable_size(p));
  }
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  operator delete(p);
}

namespace sagaflow::bench {

void count_heap(bool on) {
  counting_heap = on;
}

std::int64_t heap_counted() {
  return heap_in_use.load();
}

namespace {

constexpr std::string_view kFourSteps = R"(
name: bench
version: 1
input:
  user: string
  amount: integer
steps:
  - name: one
    command: { service: alpha, name: one, input: { user: $input.user } }
    output: { id: $reply.id }
    compensation: { service: alpha, name: undo_one, input: { id: $steps.one.id } }
  - name: two
    command: { service: beta, name: two, input: { user: $input.user, amount: $input.amount } }
    compensation: { service: beta, name: undo_two, input: { id: $steps.one.id } }
  - name: three
    command: { service: alpha, name: three, input: { id: $steps.one.id } }
    compensation: { service: alpha, name: undo_three, input: { id: $steps.one.id } }
  - name: four
    irreversible: true
    command: { service: beta, name: four, input: { id: $steps.one.id } }
)";

// A saga that waits for an outside event that never comes (cost as work grows: the sagas in
// flight). Its timeout is far off: a wait holds a timer row and a subscription all along.
constexpr std::string_view kWaiting = R"(
name: bench_wait
version: 1
input:
  user: string
steps:
  - name: await_go
    wait:
      events: [bench.go]
      correlate: $input.user
      key: $event.user
      timeout: 30d
)";

struct Figure {
  std::string name;
  json::value value;  // a number, or the text of a setting
  std::string unit;
};
std::vector<Figure> figures;

}  // namespace

void report(std::string name, double value, std::string unit) {
  // Ratios are below 1: they need the decimals that rates and sizes do without.
  std::printf(value < 10 ? "%-56s %14.3f %s\n" : "%-56s %14.1f %s\n", name.c_str(), value,
              unit.c_str());
  std::fflush(stdout);
  figures.push_back({std::move(name), value, std::move(unit)});
}

void setting(std::string name, std::string value) {
  std::printf("%-56s %14s\n", name.c_str(), value.c_str());
  std::fflush(stdout);
  figures.push_back({std::move(name), json::string(value), "setting"});
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * double(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

namespace {

std::shared_ptr<const flow::Flow> load_bench_flow(std::string_view text, const char* file) {
  auto result = flow::load_flow_text(text, file);
  if (!result.ok()) {
    for (const auto& d : result.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::exit(1);
  }
  return result.flow;
}

}  // namespace

std::shared_ptr<const flow::Flow> bench_flow() {
  return load_bench_flow(kFourSteps, "bench.yaml");
}

std::shared_ptr<const flow::Flow> bench_waiting_flow() {
  return load_bench_flow(kWaiting, "bench_wait.yaml");
}

namespace {

// ---------------------------------------------------------------------------------------------
void bench_engine_alone(std::size_t sagas) {
  FlowRegistry flows;
  auto plan = flows.add(bench_flow());
  Engine engine;
  testing::ManualClock clock;
  std::size_t transitions = 0;
  auto started = Clock::now();
  for (std::size_t i = 0; i < sagas; ++i) {
    SagaWrite out;
    auto saga = engine.start(plan,
                             StartRequest{.flow = "bench",
                                          .input = json::object{{"user", "u"}, {"amount", 5}},
                                          .saga_id = "s" + std::to_string(i)},
                             clock.now(), out);
    ++transitions;
    while (saga->status == Status::running) {
      auto reply =
          worker::make_reply(out.outbox.back(), worker::Result::ok(json::object{{"id", "x-1"}}));
      out = {};
      engine.on_reply(*saga, reply, clock.now(), out);
      ++transitions;
    }
  }
  report("engine alone (fake ports, one core)", transitions / seconds_since(started),
         "transitions/s");
}

// Heap held per saga while each waits for its first reply, as the orchestrator caches them.
void bench_memory_per_saga(std::size_t sagas) {
  FlowRegistry flows;
  auto plan = flows.add(bench_flow());
  Engine engine;
  testing::ManualClock clock;
  std::vector<std::unique_ptr<SagaState>> held;
  held.reserve(sagas);
  counting_heap = true;
  auto before = heap_in_use.load();
  for (std::size_t i = 0; i < sagas; ++i) {
    SagaWrite out;
    held.push_back(engine.start(plan,
                                StartRequest{.flow = "bench",
                                             .input = json::object{{"user", "u"}, {"amount", 5}},
                                             .saga_id = std::to_string(100000000 + i)},
                                clock.now(), out));
  }
  auto after = heap_in_use.load();
  counting_heap = false;
  report("memory per in-flight saga", double(after - before) / double(sagas), "bytes");
}

// ---------------------------------------------------------------------------------------------
void bench_embedded(const std::filesystem::path& dir, std::size_t sagas, std::size_t batch) {
  auto db = dir / "bench-embedded.db";
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);

  FlowRegistry flows;
  flows.add(bench_flow());
  boost::asio::io_context workers;
  auto guard = boost::asio::make_work_guard(workers);
  std::thread worker_thread([&] { workers.run(); });
  Participant participant;
  inproc::Bus bus(workers);
  bus.serve("alpha", participant.alpha);
  bus.serve("beta", participant.beta);
  sqlite::SqliteStore store(sqlite::SqliteOptions{.path = db.string(), .durable = true});
  SystemClock clock;
  Orchestrator orchestrator(
      flows, store, bus.orchestrator(), clock,
      OrchestratorOptions{.max_batch = batch, .idle_wait = std::chrono::milliseconds(1)});

  std::vector<std::future<StartResult>> starts;
  starts.reserve(sagas);
  auto started = Clock::now();
  for (std::size_t i = 0; i < sagas; ++i) {
    starts.push_back(orchestrator.start(StartRequest{
        .flow = "bench", .input = json::object{{"user", "u" + std::to_string(i)}, {"amount", 5}}}));
  }
  // Every saga is done when none is cached and every start was answered.
  std::size_t rounds = 0;
  do {
    orchestrator.run_once(std::chrono::milliseconds(1));
    ++rounds;
  } while (orchestrator.cached_sagas() > 0 || bus.unacknowledged() > 0);
  double elapsed = seconds_since(started);
  std::size_t completed = store.list(SagaFilter{.status = "completed", .limit = sagas}).size();
  if (completed != sagas) {
    std::fprintf(stderr, "embedded: only %zu of %zu sagas completed\n", completed, sagas);
    std::exit(1);
  }
  auto suffix = " (batch " + std::to_string(batch) + ")";
  report("embedded four-step sagas, SQLite WAL durable" + suffix, sagas / elapsed, "sagas/s");
  report("embedded transitions per orchestrator round" + suffix, 5.0 * sagas / rounds,
         "transitions/round");
  guard.reset();
  workers.stop();
  worker_thread.join();
}

void write_json(const std::string& file) {
  json::array out;
  for (const auto& f : figures) {
    out.push_back(json::object{{"name", f.name}, {"value", f.value}, {"unit", f.unit}});
  }
  std::ofstream(file) << json::serialize(out) << "\n";
}

}  // namespace
}  // namespace sagaflow::bench

int main(int argc, char** argv) {
  using namespace sagaflow::bench;
  std::filesystem::path dir = ".";
  std::string json_file;
  std::size_t sagas = 20000;
  std::string serve_service;
  bool amqp_only = false;
  bool pg_only = false;
  std::size_t broker_options = 0;  // round trips per variant; 0: not run
  AmqpOptions amqp;
  PgOptions pg;
  const char* usage =
      "usage: sagaflow_bench [--dir DIR] [--json FILE] [--sagas N] [--amqp URL [--amqp-sagas N]\n"
      "                      [--amqp-only] [--amqp-batch N] [--amqp-prefetch N]\n"
      "                      [--amqp-worker-prefetch N] [--amqp-worker-threads N]\n"
      "                      [--amqp-idle-wait MS] [--amqp-queue-type quorum|classic]\n"
      "                      [--pg DSN [--pg-only] [--pg-sagas N] [--pg-latency-sagas N]\n"
      "                      [--pg-rate R] [--pg-batch N] [--pg-raw-seconds S]\n"
      "                      [--pg-raw-connections N] [--pg-latency-warmup S]\n"
      "                      [--pg-latency-csv FILE] [--pg-backlog N] [--pg-side-rounds N]\n"
      "                      [--pg-side-with retention|dashboard|both]\n"
      "                      [--pg-wait-sagas N] [--pg-wait-clients N] [--peers-sagas N]\n"
      "                      [--pg-in-flight N,N,... (0: none)] [--pg-in-flight-latency-sagas N]\n"
      "                      [--peers-latency-sagas N] [--peers-rate R]\n"
      "                      [--peers-half-sagas N] [--peers-failing-sagas N]\n"
      "                      [--peers-classic]]]\n"
      "                      [--broker-options N]\n"
      "       sagaflow_bench --serve SERVICE --amqp URL --prefix P [--amqp-worker-prefetch N]\n"
      "                      [--amqp-worker-threads N] [--amqp-queue-type T]\n"
      "                      [--peers-dsn DSN --peers-schema S]\n";
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--dir") {
        dir = value();
      } else if (arg == "--json") {
        json_file = value();
      } else if (arg == "--sagas") {
        sagas = std::stoul(value());
      } else if (arg == "--amqp") {
        amqp.url = value();
      } else if (arg == "--amqp-sagas") {
        amqp.sagas = std::stoul(value());
      } else if (arg == "--amqp-only") {
        amqp_only = true;
      } else if (arg == "--amqp-batch") {
        amqp.batch = std::stoul(value());
      } else if (arg == "--amqp-prefetch") {
        amqp.prefetch = static_cast<std::uint16_t>(std::stoul(value()));
      } else if (arg == "--amqp-worker-prefetch") {
        amqp.worker_prefetch = static_cast<std::uint16_t>(std::stoul(value()));
      } else if (arg == "--amqp-worker-threads") {
        amqp.worker_threads = std::stoi(value());
      } else if (arg == "--amqp-queue-type") {
        amqp.queue_type = value();
        sagaflow::rabbitmq::queue_type_from(amqp.queue_type);  // throws for another
      } else if (arg == "--peers-classic") {
        pg.peers_classic = true;
      } else if (arg == "--amqp-idle-wait") {
        amqp.idle_wait = std::chrono::milliseconds(std::stol(value()));
      } else if (arg == "--pg") {
        pg.dsn = value();
      } else if (arg == "--pg-only") {
        pg_only = true;
      } else if (arg == "--pg-sagas") {
        pg.sagas = std::stoul(value());
      } else if (arg == "--pg-latency-sagas") {
        pg.latency_sagas = std::stoul(value());
      } else if (arg == "--pg-rate") {
        pg.latency_rate = std::stod(value());
      } else if (arg == "--pg-batch") {
        pg.batch = std::stoul(value());
      } else if (arg == "--pg-raw-seconds") {
        pg.raw_seconds = std::stod(value());
      } else if (arg == "--pg-latency-warmup") {
        pg.latency_warmup = std::max(0.0, std::stod(value()));
      } else if (arg == "--pg-latency-csv") {
        pg.latency_csv = value();
      } else if (arg == "--pg-backlog") {
        pg.backlog = std::stoul(value());
      } else if (arg == "--pg-side-rounds") {
        pg.side_rounds = std::max<std::size_t>(1, std::stoul(value()));
      } else if (arg == "--pg-side-with") {
        const std::string with = value();
        if (with != "both" && with != "retention" && with != "dashboard") {
          throw std::invalid_argument("--pg-side-with: retention, dashboard or both");
        }
        pg.side_retention = with != "dashboard";
        pg.side_dashboard = with != "retention";
      } else if (arg == "--pg-wait-sagas") {
        pg.wait_sagas = std::stoul(value());
      } else if (arg == "--pg-in-flight") {
        pg.in_flight.clear();
        const std::string list = value();
        for (std::size_t at = 0; at < list.size();) {
          const auto comma = std::min(list.find(',', at), list.size());
          const auto level = std::stoul(list.substr(at, comma - at));
          if (level > 0) pg.in_flight.push_back(level);
          at = comma + 1;
        }
        std::sort(pg.in_flight.begin(), pg.in_flight.end());
      } else if (arg == "--pg-in-flight-latency-sagas") {
        pg.in_flight_latency_sagas = std::stoul(value());
      } else if (arg == "--pg-wait-clients") {
        pg.wait_clients = std::max(1, std::stoi(value()));
      } else if (arg == "--pg-raw-connections") {
        pg.raw_connections = std::max(1, std::stoi(value()));
      } else if (arg == "--peers-sagas") {
        pg.peers_sagas = std::stoul(value());
      } else if (arg == "--peers-latency-sagas") {
        pg.peers_latency_sagas = std::stoul(value());
      } else if (arg == "--peers-rate") {
        pg.peers_rate = std::stod(value());
      } else if (arg == "--broker-options") {
        broker_options = std::stoul(value());
      } else if (arg == "--peers-half-sagas") {
        pg.peers_half_sagas = std::stoul(value());
      } else if (arg == "--peers-failing-sagas") {
        pg.peers_failing_sagas = std::stoul(value());
      } else if (arg == "--peers-dsn") {
        amqp.peers_dsn = value();
      } else if (arg == "--peers-schema") {
        amqp.peers_schema = value();
      } else if (arg == "--serve") {
        serve_service = value();
      } else if (arg == "--prefix") {
        amqp.prefix = value();
      } else {
        throw std::invalid_argument("unknown argument " + arg);
      }
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sagaflow_bench: %s\n%s", error.what(), usage);
    return 2;
  }
  if (!serve_service.empty()) {
    if (amqp.url.empty() || amqp.prefix.empty()) {
      std::fprintf(stderr, "sagaflow_bench: --serve needs --amqp and --prefix\n%s", usage);
      return 2;
    }
    return serve(serve_service, amqp);
  }
  if (amqp_only && amqp.url.empty()) {
    std::fprintf(stderr, "sagaflow_bench: --amqp-only needs --amqp\n%s", usage);
    return 2;
  }
  if (!pg.dsn.empty() && amqp.url.empty()) {
    std::fprintf(stderr, "sagaflow_bench: --pg needs --amqp (the participants run over it)\n%s",
                 usage);
    return 2;
  }
  if (pg.sagas == 0) {
    std::fprintf(stderr, "sagaflow_bench: --pg-sagas must be at least 1\n%s", usage);
    return 2;
  }
  if (pg.peers_rate <= 0) {
    std::fprintf(stderr, "sagaflow_bench: --peers-rate must be above 0\n%s", usage);
    return 2;
  }
  if (pg_only && pg.dsn.empty()) {
    std::fprintf(stderr, "sagaflow_bench: --pg-only needs --pg\n%s", usage);
    return 2;
  }

  std::filesystem::create_directories(dir);
  if (!amqp_only && !pg_only) {
    bench_engine_alone(sagas * 5);
    bench_memory_per_saga(sagas);
    // The round size trades latency for throughput: each round is one durable commit.
    for (std::size_t batch : {1024, 8192}) bench_embedded(dir, sagas, batch);
  }
  if (!amqp.url.empty() && !pg_only) {
    try {
      bench_rabbitmq(dir, amqp);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow_bench: RabbitMQ: %s\n", error.what());
      return 1;
    }
  }
  if (broker_options > 0) {
    if (amqp.url.empty()) {
      std::fprintf(stderr, "sagaflow_bench: --broker-options needs --amqp\n%s", usage);
      return 2;
    }
    try {
      // The body of a saga's message, about (the production pair's average).
      bench_broker_options(amqp, 330, broker_options, 2);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow_bench: broker options: %s\n", error.what());
      return 1;
    }
  }
  if (!pg.dsn.empty()) {
    try {
      bench_postgres(amqp, pg);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow_bench: RabbitMQ+PostgreSQL: %s\n", error.what());
      return 1;
    }
  }

  if (!json_file.empty()) write_json(json_file);
  return 0;
}
