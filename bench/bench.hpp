#pragma once
// What the benchmarks of tools/bench share: the four-step flow, its participant, and the
// figures printed and recorded for --json.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/loader.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::bench {

using Clock = std::chrono::steady_clock;

// Prints the figure and keeps it for --json.
void report(std::string name, double value, std::string unit);
// Prints a setting a figure was measured under (e.g. the server's synchronous_commit) and keeps
// it for --json, as {"name", "value": "<text>", "unit": "setting"}.
void setting(std::string name, std::string value);
double seconds_since(Clock::time_point t);
// The value at or below which a share `p` (0.5, 0.99) of `sorted` lies (nearest rank); `sorted`
// must not be empty.
double percentile(const std::vector<double>& sorted, double p);
std::shared_ptr<const flow::Flow> bench_flow();
// The heap bytes this process allocates and frees while counting is on (operator new/delete,
// whatever the allocator): off but while memory is measured, so that it costs nothing else.
void count_heap(bool on);
std::int64_t heap_counted();
// One step that waits for an event `bench.go` keyed by the input's user (none is ever sent).
std::shared_ptr<const flow::Flow> bench_waiting_flow();

// The four-step flow's services, answering every command ok at once.
struct Participant {
  worker::Dispatcher alpha, beta;
  Participant() {
    auto ok = [](const worker::Command&) {
      return worker::Result::ok(json::object{{"id", "x-1"}});
    };
    for (auto t : {"alpha.one", "alpha.three"}) alpha.on(t, ok);
    for (auto t : {"beta.two", "beta.four"}) beta.on(t, ok);
  }
  worker::Dispatcher* dispatcher(const std::string& service) {
    if (service == "alpha") return &alpha;
    if (service == "beta") return &beta;
    return nullptr;
  }
};

struct AmqpOptions {
  std::string url;
  std::size_t sagas = 5000;
  // The levers within the adapter's public settings, exposed to look for the best ratio.
  std::size_t batch = 4096;  // OrchestratorOptions::max_batch
  // Measured on 2 cores: the workers' default prefetch (32), or 128 for the orchestrator, cut
  // the inputs per round to 75-90 and the ratio to ~0.3; a prefetch as large as a round lets
  // one round take a whole wave of replies.
  std::uint16_t prefetch = 4096;           // OrchestratorSettings::prefetch
  std::uint16_t worker_prefetch = 1024;    // WorkerSettings::prefetch
  int worker_threads = 4;                  // handler threads per participant process
  std::chrono::milliseconds idle_wait{1};  // OrchestratorOptions::idle_wait
  std::string prefix;                      // serve mode: the topology the bench run chose
  std::string queue_type = "quorum";       // rabbitmq::Topology::queue_type: quorum or classic
  // The peers' workload: when set, the participants are peers_participant()s, their inbox and
  // counters in this PostgreSQL database and schema (which the bench created).
  std::string peers_dsn, peers_schema;
};

// The saga input's user for which the peers' participant fails step three (a business
// failure, before its UPDATE): such a saga compensates steps two and one.
inline constexpr std::string_view kFailingUserPrefix = "fail-";

// The production pair's figures (postgres.cpp), with --pg DSN.
struct PgOptions {
  std::string dsn;                   // libpq connection string or URI
  std::size_t sagas = 5000;          // the maximum rate: started at once, run to the end
  std::size_t latency_sagas = 2000;  // the latency run: started on an open-loop schedule
  double latency_rate = 0;           // sagas/s of that schedule; 0 = half the maximum rate
  double latency_warmup = 1;         // seconds of that schedule run first and not counted
  std::size_t batch = 0;             // OrchestratorOptions::max_batch; 0 = --amqp-batch
  double raw_seconds = 3;            // each raw single-row commit run
  int raw_connections = 64;          // the concurrent raw run's connections
  std::string latency_csv;           // when set: each saga of the latency run, as CSV, here
  // The side-by-side run: `sagas` started at once without, then with, retention removing a
  // backlog of this many finished sagas (loaded straight into PostgreSQL) and a dashboard
  // watching, `side_rounds` times in turn (one pair of runs per round meets the machine's load
  // of its moment; their ratio's median and range say more than one pair). 0: not run.
  std::size_t backlog = 1'000'000;
  std::size_t side_rounds = 3;
  // What the runs "with" add (--pg-side-with retention|dashboard|both): both by default, one of
  // them to see what each costs.
  bool side_retention = true, side_dashboard = true;
  // Waiting starts (POST /api/sagas, wait for the end) from `wait_clients` clients, one saga at
  // a time each: the answer's delay after the saga's end. 0: not run.
  std::size_t wait_sagas = 300;
  int wait_clients = 4;
  // The peers' workload: participants on the worker library's transactional inbox in
  // PostgreSQL, each step one committed UPDATE of a counter. Sagas at the maximum rate (0: none
  // of the peers' runs), the latency run's sagas at `peers_rate` sagas/s, and the sagas of the
  // run where every 20th fails at step three.
  std::size_t peers_sagas = 5000;
  std::size_t peers_latency_sagas = 1000;
  double peers_rate = 50;
  // A second latency run of the peers' workload at half its maximum rate (0: not run).
  std::size_t peers_half_sagas = 1000;
  // The peers' latency runs again, side by side, on classic queues (a rig of its own).
  bool peers_classic = false;
  std::size_t peers_failing_sagas = 5000;
  // Cost as work grows: the maximum rate and the latency with these many sagas waiting for an
  // event (cumulative, ascending; empty: not run), the latency run's sagas at each level.
  std::vector<std::size_t> in_flight = {1000, 10000, 100000};
  std::size_t in_flight_latency_sagas = 1000;
};

// Sagas over RabbitMQ with participant processes, then the raw broker limit and the ratio.
void bench_rabbitmq(const std::filesystem::path& dir, const AmqpOptions& options);
// Sagas over RabbitMQ with participant processes and PostgreSQL as the store: the maximum rate,
// the latency at a paced rate, the rate with retention and a dashboard against the rate without,
// waiting starts' answers after the end, the raw broker round trip and the raw single-row
// commits of the same server, and the ratios.
void bench_postgres(const AmqpOptions& amqp, const PgOptions& pg);
// The broker's options side by side (--broker-options): the raw round trip of a saga step with
// quorum and classic queues, single and multiple acks, prefetch, body size; `rounds` times each,
// alternating (postgres.cpp).
void bench_broker_options(const AmqpOptions& amqp, std::size_t body_size, std::size_t round_trips,
                          int rounds);
// A participant process: serves `service` until SIGTERM (or until its parent dies).
int serve(const std::string& service, const AmqpOptions& options);
// The peers' participant of `service` (postgres.cpp): a dispatcher on a transactional inbox in
// options.peers_dsn's schema options.peers_schema, each command one UPDATE of its step's row in
// `counters` (+1 for a step, -1 for its compensation); alpha's step three fails for the users
// named kFailingUserPrefix... Null for an unknown service.
std::unique_ptr<worker::Dispatcher> peers_participant(const std::string& service,
                                                      const AmqpOptions& options);

}  // namespace sagaflow::bench
