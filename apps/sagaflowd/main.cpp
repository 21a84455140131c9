// sagaflowd: the orchestrator daemon. With no configuration it runs embedded: a SQLite file
// and the in-process bus, loading every flow file in the flows folder.
//
//   sagaflowd [--flows DIR] [--db FILE] [--demo [--exit]]
//
// --demo serves the example participants in-process and drives the demo scenarios, printing
// one line per saga; --exit then stops, failing when a saga ended unexpectedly.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "demo/demo.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

namespace {

struct Options {
  std::filesystem::path flows = "definitions";
  std::string db = "sagaflow.db";
  bool demo = false;
  bool exit_after_demo = false;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: sagaflowd [--flows DIR] [--db FILE] [--demo [--exit]]\n"
               "  --flows DIR  load every *.yaml flow in DIR (default: definitions)\n"
               "  --db FILE    the SQLite file (default: sagaflow.db; :memory: for none)\n"
               "  --demo       serve the example participants and run the demo scenarios\n"
               "  --exit       with --demo: stop after the scenarios; fail if one went wrong\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (arg == "--flows") {
      o.flows = value();
    } else if (arg == "--db") {
      o.db = value();
    } else if (arg == "--demo") {
      o.demo = true;
    } else if (arg == "--exit") {
      o.exit_after_demo = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(0);
    } else {
      std::fprintf(stderr, "sagaflowd: unknown argument %s\n", arg.c_str());
      usage(2);
    }
  }
  return o;
}

// Loads every flow file; a broken one stops the daemon with its diagnostics.
bool load_flows(const std::filesystem::path& dir, sagaflow::FlowRegistry& registry) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::fprintf(stderr, "sagaflowd: %s is not a folder of flows\n", dir.c_str());
    return false;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  bool ok = true;
  for (const auto& file : files) {
    auto result = sagaflow::flow::load_flow_file(file);
    for (const auto& d : result.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (!result.ok()) {
      ok = false;
      continue;
    }
    registry.add(result.flow);
    std::fprintf(stderr, "sagaflowd: loaded flow %s version %d from %s\n",
                 result.flow->name.c_str(), result.flow->version, file.c_str());
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  sagaflow::FlowRegistry flows;
  if (!load_flows(options.flows, flows)) return 2;

  // Signals are taken synchronously by this thread; the others never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  boost::asio::io_context workers;
  auto guard = boost::asio::make_work_guard(workers);
  std::thread worker_thread([&] { workers.run(); });

  sagaflow::inproc::Bus bus(workers);
  for (const auto& plan : flows.all()) {
    for (const auto& event : plan->listened_events()) bus.route_events_to_orchestrator(event);
  }
  sagaflow::sqlite::SqliteStore store(sagaflow::sqlite::SqliteOptions{.path = options.db});
  sagaflow::demo::DemoClock clock;  // real time; only the demo makes it jump
  sagaflow::Orchestrator orchestrator(flows, store, bus.orchestrator(), clock);

  // Every example participant, in-process: commands by service name, events they subscribe to,
  // and the events they publish (payments after a webhook) entering the same bus.
  sagaflow::sagas::Participants participants;
  if (options.demo) {
    participants.for_each_service([&](const std::string& service, sagaflow::worker::Dispatcher& d) {
      bus.serve(service, d);
    });
    participants.for_each_subscription(
        [&](const std::string& type, auto handler) { bus.subscribe(type, std::move(handler)); });
    participants.set_event_sink(
        [&](sagaflow::Message event) { bus.publish_event(std::move(event)); });
  }

  // The bus lost whatever was in flight when the last process stopped: send it again.
  orchestrator.recover(true);
  std::jthread orchestrator_thread([&](std::stop_token stop) { orchestrator.run(stop); });
  std::fprintf(stderr, "sagaflowd: running embedded (store %s)\n", options.db.c_str());

  int exit_code = 0;
  if (options.demo) {
    sagaflow::demo::World world{orchestrator, store, bus, clock, participants};
    exit_code = sagaflow::demo::run(world) ? 0 : 1;
  }
  if (!options.demo || !options.exit_after_demo) {
    std::fprintf(stderr, "sagaflowd: serving; Ctrl-C stops\n");
    int received = 0;
    sigwait(&signals, &received);
  }

  orchestrator_thread.request_stop();
  orchestrator_thread.join();
  guard.reset();
  workers.stop();
  worker_thread.join();
  return exit_code;
}
