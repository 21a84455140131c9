// tools/bench: the engine's figures, measured side by side in one run.
//
//   sagaflow_bench [--dir DIR] [--json FILE] [--sagas N]
//
// 1. engine alone: transitions per second on one core, fake ports (no store, no transport);
// 2. memory per in-flight saga (heap bytes held by the orchestrator's state);
// 3. embedded end to end: four-step sagas per second through the in-process bus and a SQLite
//    file (WAL, durable commits), participants on their own thread.
#include <malloc.h>

#include <atomic>
#include <new>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

namespace {

using namespace sagaflow;
using Clock = std::chrono::steady_clock;

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

struct Figure {
  std::string name;
  double value;
  std::string unit;
};
std::vector<Figure> figures;

void report(std::string name, double value, std::string unit) {
  std::printf("%-48s %14.1f %s\n", name.c_str(), value, unit.c_str());
  std::fflush(stdout);
  figures.push_back({std::move(name), value, std::move(unit)});
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::shared_ptr<const flow::Flow> bench_flow() {
  auto result = flow::load_flow_text(kFourSteps, "bench.yaml");
  if (!result.ok()) {
    for (const auto& d : result.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::exit(1);
  }
  return result.flow;
}

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
struct Participant {
  worker::Dispatcher alpha, beta;
  Participant() {
    auto ok = [](const worker::Command&) {
      return worker::Result::ok(json::object{{"id", "x-1"}});
    };
    for (auto t : {"alpha.one", "alpha.three"}) alpha.on(t, ok);
    for (auto t : {"beta.two", "beta.four"}) beta.on(t, ok);
  }
};

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

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = ".";
  std::string json_file;
  std::size_t sagas = 20000;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--json" && i + 1 < argc) {
      json_file = argv[++i];
    } else if (arg == "--sagas" && i + 1 < argc) {
      sagas = std::stoul(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: sagaflow_bench [--dir DIR] [--json FILE] [--sagas N]\n");
      return 2;
    }
  }
  std::filesystem::create_directories(dir);
  bench_engine_alone(sagas * 5);
  bench_memory_per_saga(sagas);
  // The round size trades latency for throughput: each round is one durable commit.
  for (std::size_t batch : {1024, 8192}) bench_embedded(dir, sagas, batch);

  if (!json_file.empty()) {
    json::array out;
    for (const auto& f : figures) {
      out.push_back(json::object{{"name", f.name}, {"value", f.value}, {"unit", f.unit}});
    }
    std::ofstream(json_file) << json::serialize(out) << "\n";
  }
  return 0;
}
