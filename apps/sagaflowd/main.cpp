// sagaflowd: the orchestrator daemon. With no configuration it runs embedded: a SQLite file
// and the in-process bus, loading every flow file in the flows folder. Given a RabbitMQ URL
// (--amqp, SAGAFLOW_AMQP_URL or a config file) it sends commands to participant processes over
// the broker instead. `sagaflowd --help` lists the settings (config.hpp).
//
// --demo serves the example participants in-process and drives the demo scenarios, printing
// one line per saga; --exit then stops, failing when a saga ended unexpectedly.
//
// The admin endpoint (docs/admin-api.md) runs on a thread of its own. The daemon's own log
// lines are JSON, one per line on stderr (sagaflow/http/log.hpp); the demo's report is text on
// stdout.
#include <unistd.h>
#include <algorithm>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "config.hpp"
#include "demo/demo.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/dead_letter_log.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/http/server.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/postgres/postgres_store.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

namespace {

namespace log = sagaflow::log;

void report(const sagaflow::http::FlowProblem& problem) {
  for (const auto& message : problem.messages) {
    log::error("flow refused", {{"where", problem.where}, {"diagnostic", message}});
  }
}

// Loads what was deployed through the admin endpoint before, then every flow file (stored
// too, so that the endpoint shows its text and a restart finds it); a broken one stops the
// daemon with its diagnostics.
bool load_flows(const std::filesystem::path& dir, sagaflow::Store& store,
                sagaflow::FlowRegistry& registry, const sagaflow::Clock& clock) {
  bool ok = true;
  for (const auto& problem : sagaflow::http::load_deployed_flows(store, registry)) {
    report(problem);
    ok = false;
  }
  for (const auto& plan : registry.all()) {
    log::info("flow loaded",
              {{"flow", plan->flow().name}, {"version", plan->flow().version}, {"from", "store"}});
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    log::error("not a folder of flows", {{"flows", dir.string()}});
    return false;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto loaded = sagaflow::http::load_flow_file(file.string(), store, registry, clock.now());
    if (!loaded.flow) {
      report(loaded.problem);
      ok = false;
      continue;
    }
    log::info(
        "flow loaded",
        {{"flow", loaded.flow->name}, {"version", loaded.flow->version}, {"from", file.string()}});
  }
  return ok;
}

// What the broker was set up for at start: the command queues of these services, and these
// event types bound to the orchestrator's queue.
struct Declared {
  std::set<std::string> services;
  std::set<std::string> events;
};

Declared declared_for(const sagaflow::FlowRegistry& flows) {
  Declared d;
  for (const auto& plan : flows.all()) {
    d.services.insert(plan->services().begin(), plan->services().end());
    d.events.insert(plan->listened_events().begin(), plan->listened_events().end());
  }
  return d;
}

// The broker side when configured: every flow's services get their command queue, every event
// a flow listens to is bound to the orchestrator's queue.
std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> connect_broker(
    const sagaflowd::Config& config, const Declared& declared,
    sagaflow::DeadLetterObserver& dead_letters) {
  sagaflow::rabbitmq::OrchestratorSettings settings;
  settings.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(config.amqp_url);
  auto& tls = settings.connection.tls;
  tls.ca_file = config.tls_ca_file;
  tls.cert_file = config.tls_cert_file;
  tls.key_file = config.tls_key_file;
  tls.verify_peer = config.tls_verify_peer;
  tls.verify_hostname = config.tls_verify_hostname;
  settings.topology.prefix = config.amqp_prefix;
  settings.partitions = config.partitions;
  settings.services.assign(declared.services.begin(), declared.services.end());
  settings.event_types.assign(declared.events.begin(), declared.events.end());
  settings.dead_letters = &dead_letters;
  log::info("connecting to the broker", {{"url", settings.connection.redacted_url()}});
  auto transport = std::make_unique<sagaflow::rabbitmq::OrchestratorTransport>(settings);
  transport->wait_connected(std::chrono::seconds(30));
  return transport;
}

// A deployed flow over RabbitMQ: its queues and bindings were declared at start, so a flow
// that needs others waits for a restart (which declares what every stored flow needs).
void check_declared(const Declared& declared, const sagaflow::Plan& plan) {
  for (const auto& service : plan.services()) {
    if (!declared.services.contains(service)) {
      throw sagaflow::http::DeployRefused(
          "flow " + plan.flow().name + " sends commands to service " + service +
          ", which has no queue on the broker yet: add the file to the flows folder and restart "
          "sagaflowd");
    }
  }
  for (const auto& event : plan.listened_events()) {
    if (!declared.events.contains(event)) {
      throw sagaflow::http::DeployRefused(
          "flow " + plan.flow().name + " listens to event " + event +
          ", which is not bound to the orchestrator's queue yet: add the file to the flows "
          "folder and restart sagaflowd");
    }
  }
}

// PostgreSQL when a DSN is configured, else the SQLite file.
std::unique_ptr<sagaflow::Store> open_store(const sagaflowd::Config& config) {
  if (!config.pg_dsn.empty()) {
    return std::make_unique<sagaflow::postgres::PostgresStore>(
        sagaflow::postgres::PostgresOptions{.dsn = config.pg_dsn, .schema = config.pg_schema});
  }
  return std::make_unique<sagaflow::sqlite::SqliteStore>(
      sagaflow::sqlite::SqliteOptions{.path = config.db});
}

// What the logs call the store: never a password.
std::string store_name(const sagaflowd::Config& config) {
  if (config.pg_dsn.empty()) return "sqlite:" + config.db;
  return "postgresql:" + sagaflow::postgres::redacted_dsn(config.pg_dsn);
}

// The name of this process in the partition leases: unique while it lives.
std::string default_owner() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

// SAGAFLOW_FAULT_AT: dies like kill -9 at the Nth pass of the fault point, for recovery drills.
std::function<void(std::string_view)> fault_hook(const sagaflowd::Config& config) {
  if (config.fault_point.empty()) return {};
  log::info("fault drill armed", {{"point", config.fault_point}, {"hits", config.fault_hits}});
  return [point = config.fault_point, left = config.fault_hits](std::string_view at) mutable {
    if (at != point || --left > 0) return;
    log::info("fault drill: killing this process", {{"point", point}});
    std::fflush(nullptr);
    ::raise(SIGKILL);
  };
}

}  // namespace

int main(int argc, char** argv) {
  sagaflowd::Config config;
  try {
    config = sagaflowd::load_config(std::vector<std::string>(argv + 1, argv + argc),
                                    sagaflowd::process_environment());
  } catch (const sagaflowd::ConfigError& error) {
    log::error("bad configuration", {{"error", error.what()}});
    std::fputs(sagaflowd::usage().c_str(), stderr);
    return 2;
  }
  if (config.help) {
    std::fputs(sagaflowd::usage().c_str(), stdout);
    return 0;
  }
  std::unique_ptr<sagaflow::Store> store_owner;
  try {
    store_owner = open_store(config);
  } catch (const std::exception& error) {
    log::error("cannot open the store", {{"store", store_name(config)}, {"error", error.what()}});
    return 1;
  }
  sagaflow::Store& store = *store_owner;
  sagaflow::demo::DemoClock clock;  // real time; only the demo makes it jump
  sagaflow::FlowRegistry flows;
  if (!load_flows(config.flows, store, flows, clock)) return 2;
  const auto declared = declared_for(flows);

  // Signals are taken synchronously by this thread; the others never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Every dead letter, whichever transport makes it, is counted by reason and logged.
  sagaflow::http::PrometheusMetrics metrics;
  sagaflow::http::DeadLetterLog dead_letter_log;
  sagaflow::DeadLetterObservers dead_letters{&metrics, &dead_letter_log};

  std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> broker;
  sagaflow::OrchestratorOptions options;
  if (!config.amqp_url.empty()) {
    try {
      broker = connect_broker(config, declared, dead_letters);
    } catch (const std::exception& error) {
      log::error("cannot connect to the broker", {{"error", error.what()}});  // no password
      return 1;
    }
    options.engine.reply_to = sagaflow::rabbitmq::Topology{config.amqp_prefix}.reply_queue();
  }
  options.fault_point = fault_hook(config);
  if (config.partitions > 0) {
    // open_store gave PostgreSQL: the config refuses partitions without it.
    options.leases = dynamic_cast<sagaflow::PartitionedStore*>(&store);
    options.owner = config.owner.empty() ? default_owner() : config.owner;
    options.partition_count = config.partitions;
    options.lease_ttl = sagaflow::Duration(config.lease_ttl_ms);
    options.heartbeat_every = sagaflow::Duration(std::max(100, config.lease_ttl_ms / 5));
    log::info("sharing the sagas with other orchestrators",
              {{"owner", options.owner}, {"partitions", config.partitions}});
  }

  boost::asio::io_context workers;
  auto guard = boost::asio::make_work_guard(workers);
  std::thread worker_thread([&] { workers.run(); });
  sagaflow::inproc::Bus bus(workers, &dead_letters);
  if (!broker) {
    for (const auto& plan : flows.all()) {
      for (const auto& event : plan->listened_events()) bus.route_events_to_orchestrator(event);
    }
  }
  sagaflow::Transport& transport =
      broker ? static_cast<sagaflow::Transport&>(*broker) : bus.orchestrator();
  options.metrics = &metrics;
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
  log::info("sagaflowd running",
            {{"transport", broker ? "rabbitmq" : "embedded"}, {"store", store_name(config)}});

  // The admin endpoint, on its own thread. A deployed flow's events reach the orchestrator on
  // the bus at once; over RabbitMQ, only what was declared at start can be deployed.
  sagaflow::http::BackendHooks hooks;
  if (broker) {
    hooks.broker_connected = [&] { return broker->connected(); };
    hooks.prepare_deploy = [&](const sagaflow::Plan& plan) { check_declared(declared, plan); };
  } else {
    hooks.prepare_deploy = [&](const sagaflow::Plan& plan) {
      for (const auto& event : plan.listened_events()) bus.route_events_to_orchestrator(event);
    };
  }
  sagaflow::http::AdminBackendImpl backend(orchestrator, store, flows, clock, std::move(hooks));
  sagaflow::http::AdminApi api(
      backend,
      {.token = config.admin_token,
       .flow_checks = {.budget = std::chrono::milliseconds(config.admin_flow_check_ms)}},
      &metrics);
  boost::asio::io_context admin_io;
  std::unique_ptr<sagaflow::http::AdminServer> admin;
  try {
    admin = std::make_unique<sagaflow::http::AdminServer>(
        admin_io, api,
        sagaflow::http::ServerOptions{.address = config.admin_address, .port = config.admin_port});
  } catch (const std::exception& error) {
    log::error(
        "the admin endpoint cannot listen",
        {{"address", config.admin_address}, {"port", config.admin_port}, {"error", error.what()}});
    orchestrator_thread.request_stop();
    orchestrator_thread.join();
    guard.reset();
    workers.stop();
    worker_thread.join();
    return 2;
  }
  admin->start();
  std::thread admin_thread([&] { admin_io.run(); });
  log::info("admin endpoint listening",
            {{"url", admin->url()}, {"token_required", !config.admin_token.empty()}});

  int exit_code = 0;
  if (config.demo) {
    sagaflow::demo::World world{orchestrator, store, bus, clock, participants};
    exit_code = sagaflow::demo::run(world) ? 0 : 1;
  }
  if (!config.demo || !config.exit_after_demo) {
    log::info("serving; Ctrl-C stops", {{"admin", admin->url()}});
    int received = 0;
    sigwait(&signals, &received);
    log::info("stopping", {{"signal", received}});
  }

  // The endpoint first: its requests wait on the orchestrator, never the other way round.
  admin->stop();
  admin_io.stop();
  admin_thread.join();
  orchestrator_thread.request_stop();
  orchestrator_thread.join();
  orchestrator.release();  // the others take this process's partitions at once
  guard.reset();
  workers.stop();
  worker_thread.join();
  return exit_code;
}
