// sagaflow-participant: example participants as their own process over RabbitMQ, e.g.
//
//   sagaflow-participant points --amqp amqp://guest:guest@127.0.0.1:5672/
//   sagaflow-participant certificates sms --amqp ...
//
// It consumes each named service's command queue (docs/protocol.md), runs the handlers on its
// own threads, and publishes what the services publish (payments' webhook results) to the
// events exchange. Services named together share the process and may call each other in
// memory: the SMS gateway reads a certificate's CVC from the certificates service, as in seed
// 002, so those two run together. It starts without the broker and connects when the broker
// comes, reconnecting with a jittered backoff; a line on stderr says when a service's connection
// is lost or cannot be made (once per outage) and when it is back. SIGINT or SIGTERM stops it at
// any moment (exit 0); unacknowledged commands go back to their queue.
//
// With --state FILE the participants keep their state, ledger and deduplication in that SQLite
// file (sagas/participants.hpp: a transactional inbox and a journal of the commands applied), so
// a process killed with kill -9 restarts where it was; without it they live in memory only.
// `--state FILE --print-report` prints the report of what the file holds, at any time (also
// while a participant serves it), and exits.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "outage_watch.hpp"
#include "sagaflow/rabbitmq/worker.hpp"
#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sagas/participants.hpp"
#include "sagaflow/sagas/seed_file.hpp"
#include "sagaflow/text/printable.hpp"

namespace {

struct Options {
  std::vector<std::string> services;
  std::string amqp_url;
  std::string prefix = "sagaflow";
  std::string queue_type = "quorum";
  int threads = 2;
  bool demo_data = false;
  std::string seed;    // a JSON file of set-up calls (sagas/seed_file.hpp)
  std::string report;  // where to write, on exit, what each service applied
  std::string state;   // the SQLite file the state is kept in; empty: in memory
  bool print_report = false;
};

std::string usage(const sagaflow::sagas::Participants& participants) {
  std::string services;
  for (const auto& name : participants.service_names()) services += " " + name;
  return "usage: sagaflow-participant SERVICE... [--amqp URL] [--amqp-prefix P] "
         "[--amqp-queue-type T] [--threads N] "
         "[--demo-data] [--seed FILE] [--state FILE] [--report FILE]\n"
         "       sagaflow-participant --state FILE --print-report [--demo-data] [--seed FILE] "
         "[SERVICE...]\n"
         "  SERVICE one or more of:" +
         services +
         "\n"
         "  --amqp URL        the broker (default: $SAGAFLOW_AMQP_URL)\n"
         "  --amqp-prefix P   the topology's name prefix (default: sagaflow)\n"
         "  --amqp-queue-type T   quorum (default) or classic: as the orchestrator's\n"
         "  --threads N       handler threads (default: 2)\n"
         "  --demo-data       seed the accounts, stock and codes the demo scenarios use\n"
         "  --seed FILE       seed them from FILE instead: a JSON list of set-up calls, e.g.\n"
         "                    [[\"points.open_account\", \"alice\", 1000], [\"offers.sell_out\",\n"
         "                    \"concert\"]] (the calls are listed in sagas/.../seed_file.hpp);\n"
         "                    with --print-report, the report also holds \"seeded\": where each\n"
         "                    seeded account, product, method, code and slot stands, and each\n"
         "                    participant's invariants\n"
         "  --report FILE     on exit, write how many effects each service applied and how\n"
         "                    many idempotency keys it applied more than once (JSON)\n"
         "  --state FILE      keep state, ledger and deduplication in this SQLite file (created\n"
         "                    when missing), so that a restart continues where it stopped;\n"
         "                    without it, in memory only. Give --demo-data or --seed the same\n"
         "                    way each time\n"
         "  --print-report    with --state: print that report for what the file holds now (every\n"
         "                    service unless named) and exit; no broker needed\n";
}

// Returns an error text, empty when the options are usable.
std::string parse(int argc, char** argv, Options& o) {
  if (const char* url = std::getenv("SAGAFLOW_AMQP_URL")) o.amqp_url = url;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
    if (arg == "--amqp") {
      o.amqp_url = value();
    } else if (arg == "--amqp-prefix") {
      o.prefix = value();
    } else if (arg == "--amqp-queue-type") {
      o.queue_type = value();
    } else if (arg == "--threads") {
      o.threads = std::atoi(value().c_str());
    } else if (arg == "--report") {
      o.report = value();
    } else if (arg == "--state") {
      o.state = value();
      if (o.state.empty()) return "--state needs a file";
    } else if (arg == "--print-report") {
      o.print_report = true;
    } else if (arg == "--demo-data") {
      o.demo_data = true;
    } else if (arg == "--seed") {
      o.seed = value();
      if (o.seed.empty()) return "--seed needs a file";
    } else if (arg == "--help" || arg == "-h") {
      return "help";
    } else if (!arg.starts_with("-")) {
      o.services.push_back(arg);
    } else {
      return "unknown argument '" + arg + "'";
    }
  }
  if (o.demo_data && !o.seed.empty()) return "--demo-data and --seed exclude each other";
  if (o.print_report) return o.state.empty() ? "--print-report reads a --state FILE" : "";
  if (o.services.empty()) return "which service? name one or more";
  if (o.amqp_url.empty()) return "no broker: give --amqp URL or set SAGAFLOW_AMQP_URL";
  if (o.threads < 1 || o.threads > 64) return "--threads must be between 1 and 64";
  if (o.prefix.empty()) return "--amqp-prefix may not be empty";
  if (o.queue_type != "quorum" && o.queue_type != "classic") {
    return "--amqp-queue-type is quorum or classic, not '" +
           sagaflow::text::printable(o.queue_type) + "'";
  }
  return {};
}

// A key applied twice is a command applied twice, which the tests of redelivery, kill -9 and
// broker restarts must never see.
void write_report(const std::string& path, const sagaflow::sagas::Participants& participants,
                  const std::vector<std::string>& services) {
  std::ofstream(path) << sagaflow::json::serialize(participants.report(services)) << "\n";
}

// Each service's connection to the broker, as its worker reports it: a line when it is lost or
// cannot be made, once per outage, and one when it is back.
class BrokerWatch {
 public:
  explicit BrokerWatch(const std::vector<std::string>& services) : watch_(services) {}

  std::function<void(bool, const std::string&)> observer(const std::string& service) {
    return [this, service](bool up, const std::string& error) { report(service, up, error); };
  }

 private:
  void report(const std::string& service, bool up, const std::string& error) {
    const auto now = std::chrono::steady_clock::now();
    if (up) {
      if (auto gone = watch_.answered(service, now)) {
        std::fprintf(stderr, "sagaflow-participant: %s: broker back after %lld ms\n",
                     service.c_str(), static_cast<long long>(gone->count()));
      }
      return;
    }
    const auto text = sagaflow::text::printable(error);
    const auto wall =
        std::chrono::time_point_cast<sagaflow::Duration>(std::chrono::system_clock::now());
    if (watch_.failed(service, text, wall, now)) {
      std::fprintf(stderr, "sagaflow-participant: %s: broker unreachable, retrying: %s\n",
                   service.c_str(), text.c_str());
    }
  }

  sagaflow::apps::OutageWatch watch_;
};

}  // namespace

int main(int argc, char** argv) {
  sagaflow::sagas::Participants participants;
  Options options;
  if (auto problem = parse(argc, argv, options); !problem.empty()) {
    const bool help = problem == "help";
    if (!help) std::fprintf(stderr, "sagaflow-participant: %s\n", problem.c_str());
    std::fputs(usage(participants).c_str(), help ? stdout : stderr);
    return help ? 0 : 2;
  }
  if (options.demo_data) sagaflow::sagas::seed_demo_data(participants);
  sagaflow::json::value seed;
  std::string setup = options.demo_data ? "demo-data" : "empty";
  if (!options.seed.empty()) {
    try {
      std::ifstream file(options.seed);
      if (!file) throw std::runtime_error("cannot read the seed file " + options.seed);
      const std::string text((std::istreambuf_iterator<char>(file)), {});
      seed = sagaflow::json::parse(text);
      sagaflow::sagas::seed_from_calls(participants, seed);
      // The journal replays only on the same start: the file's calls are that start.
      setup = "seed " + sagaflow::json::serialize(seed);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow-participant: %s: %s\n", options.seed.c_str(), error.what());
      return 2;
    }
  }
  if (options.print_report && !std::filesystem::exists(options.state)) {
    std::fprintf(stderr, "sagaflow-participant: no state file %s\n", options.state.c_str());
    return 1;
  }
  if (!options.state.empty()) {
    try {
      participants.open_state(options.state, setup);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflow-participant: %s\n", error.what());
      return 1;
    }
  }
  for (const auto& service : options.services) {
    if (participants.dispatcher(service) == nullptr) {
      std::fprintf(stderr, "sagaflow-participant: no participant serves '%s'\n%s", service.c_str(),
                   usage(participants).c_str());
      return 2;
    }
  }
  if (options.print_report) {
    const auto services =
        options.services.empty() ? participants.service_names() : options.services;
    auto report = participants.report(services);
    if (!options.seed.empty())
      report["seeded"] = sagaflow::sagas::seed_holdings(participants, seed);
    std::printf("%s\n", sagaflow::json::serialize(report).c_str());
    return 0;
  }

  std::signal(SIGINT, SIG_DFL);  // a shell's background job has it ignored: sigwait wants it
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  sagaflow::rabbitmq::WorkerSettings settings;
  try {
    settings.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(options.amqp_url);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "sagaflow-participant: %s\n", error.what());
    return 2;
  }
  settings.topology.prefix = options.prefix;
  settings.topology.queue_type = sagaflow::rabbitmq::queue_type_from(options.queue_type);

  BrokerWatch broker(options.services);
  boost::asio::io_context handlers;
  auto guard = boost::asio::make_work_guard(handlers);
  std::vector<std::thread> threads;
  for (int i = 0; i < options.threads; ++i) threads.emplace_back([&] { handlers.run(); });
  {
    std::vector<std::unique_ptr<sagaflow::rabbitmq::Worker>> workers;
    for (const auto& service : options.services) {
      settings.service = service;
      settings.connection.on_connection = broker.observer(service);
      workers.push_back(std::make_unique<sagaflow::rabbitmq::Worker>(
          handlers, *participants.dispatcher(service), settings));
    }
    participants.set_event_sink([&](sagaflow::Message event) {
      try {
        workers.front()->publish_event(std::move(event));
      } catch (const std::exception& error) {
        std::fprintf(stderr, "sagaflow-participant: event not published: %s\n", error.what());
      }
    });
    std::string names;
    for (const auto& service : options.services) names += (names.empty() ? "" : ", ") + service;
    std::fprintf(stderr, "sagaflow-participant: serving %s at %s\n", names.c_str(),
                 settings.connection.redacted_url().c_str());
    int received = 0;
    sigwait(&signals, &received);
    std::fprintf(stderr, "sagaflow-participant: stopping (signal %d)\n", received);
    participants.set_event_sink({});
  }
  guard.reset();
  handlers.stop();
  for (auto& t : threads) t.join();
  if (!options.report.empty()) write_report(options.report, participants, options.services);
  return 0;
}
