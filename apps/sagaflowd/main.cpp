// sagaflowd: the orchestrator daemon. With no configuration it runs embedded: a SQLite file
// and the in-process bus, loading every flow file in the flows folder. Given a RabbitMQ URL
// (--amqp, SAGAFLOW_AMQP_URL or a config file) it sends commands to participant processes over
// the broker instead. `sagaflowd --help` lists the settings (config.hpp).
//
// --demo serves the example participants in-process and drives the demo scenarios, printing
// one line per saga; --exit then stops, failing when a saga ended unexpectedly.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "config.hpp"
#include "demo/demo.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

namespace {

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

// The broker side when configured: every flow's services get their command queue, every event
// a flow listens to is bound to the orchestrator's queue.
std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> connect_broker(
    const sagaflowd::Config& config, const sagaflow::FlowRegistry& flows) {
  sagaflow::rabbitmq::OrchestratorSettings settings;
  settings.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(config.amqp_url);
  auto& tls = settings.connection.tls;
  tls.ca_file = config.tls_ca_file;
  tls.cert_file = config.tls_cert_file;
  tls.key_file = config.tls_key_file;
  tls.verify_peer = config.tls_verify_peer;
  tls.verify_hostname = config.tls_verify_hostname;
  settings.topology.prefix = config.amqp_prefix;
  auto add = [](std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
  };
  for (const auto& plan : flows.all()) {
    for (const auto& service : plan->services()) add(settings.services, service);
    for (const auto& event : plan->listened_events()) add(settings.event_types, event);
  }
  std::fprintf(stderr, "sagaflowd: connecting to %s\n", settings.connection.redacted_url().c_str());
  auto transport = std::make_unique<sagaflow::rabbitmq::OrchestratorTransport>(settings);
  transport->wait_connected(std::chrono::seconds(30));
  return transport;
}

}  // namespace

int main(int argc, char** argv) {
  sagaflowd::Config config;
  try {
    config = sagaflowd::load_config(std::vector<std::string>(argv + 1, argv + argc),
                                    sagaflowd::process_environment());
  } catch (const sagaflowd::ConfigError& error) {
    std::fprintf(stderr, "sagaflowd: %s\n%s", error.what(), sagaflowd::usage().c_str());
    return 2;
  }
  if (config.help) {
    std::fputs(sagaflowd::usage().c_str(), stdout);
    return 0;
  }
  sagaflow::FlowRegistry flows;
  if (!load_flows(config.flows, flows)) return 2;

  // Signals are taken synchronously by this thread; the others never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> broker;
  sagaflow::OrchestratorOptions options;
  if (!config.amqp_url.empty()) {
    try {
      broker = connect_broker(config, flows);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "sagaflowd: %s\n", error.what());
      return 1;
    }
    options.engine.reply_to = sagaflow::rabbitmq::Topology{config.amqp_prefix}.reply_queue();
  }

  boost::asio::io_context workers;
  auto guard = boost::asio::make_work_guard(workers);
  std::thread worker_thread([&] { workers.run(); });
  sagaflow::inproc::Bus bus(workers);
  if (!broker) {
    for (const auto& plan : flows.all()) {
      for (const auto& event : plan->listened_events()) bus.route_events_to_orchestrator(event);
    }
  }
  sagaflow::Transport& transport =
      broker ? static_cast<sagaflow::Transport&>(*broker) : bus.orchestrator();
  sagaflow::sqlite::SqliteStore store(sagaflow::sqlite::SqliteOptions{.path = config.db});
  sagaflow::demo::DemoClock clock;  // real time; only the demo makes it jump
  sagaflow::Orchestrator orchestrator(flows, store, transport, clock, options);

  // Every example participant, in-process: commands by service name, events they subscribe to,
  // and the events they publish (payments after a webhook) entering the same bus.
  sagaflow::sagas::Participants participants;
  if (config.demo) {
    sagaflow::sagas::seed_demo_data(participants);
    participants.for_each_service([&](const std::string& service, sagaflow::worker::Dispatcher& d) {
      bus.serve(service, d);
    });
    participants.for_each_subscription(
        [&](const std::string& type, auto handler) { bus.subscribe(type, std::move(handler)); });
    participants.set_event_sink(
        [&](sagaflow::Message event) { bus.publish_event(std::move(event)); });
  }

  // The in-process bus lost whatever was in flight when the last process stopped: send it
  // again. A broker kept it, so only the unpublished outbox goes out.
  orchestrator.recover(!broker);
  std::jthread orchestrator_thread([&](std::stop_token stop) { orchestrator.run(stop); });
  std::fprintf(stderr, "sagaflowd: running %s (store %s)\n", broker ? "over RabbitMQ" : "embedded",
               config.db.c_str());

  int exit_code = 0;
  if (config.demo) {
    sagaflow::demo::World world{orchestrator, store, bus, clock, participants};
    exit_code = sagaflow::demo::run(world) ? 0 : 1;
  }
  if (!config.demo || !config.exit_after_demo) {
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
