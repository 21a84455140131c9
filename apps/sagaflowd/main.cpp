// sagaflowd: the orchestrator daemon. With no configuration it runs embedded: a SQLite file
// and the in-process bus, loading every flow file in the flows folder. Given a RabbitMQ URL
// (--amqp, SAGAFLOW_AMQP_URL or a config file) it sends commands to participant processes over
// the broker instead. `sagaflowd --help` lists the settings (config.hpp).
//
// --demo serves the example participants in-process and drives the demo scenarios, printing
// one line per saga; --exit then stops, failing when a saga ended unexpectedly.
//
// The admin endpoint (docs/admin-api.md) runs on a thread of its own, from the start: while
// PostgreSQL or the broker cannot be reached, /healthz answers and /readyz says why, the daemon
// retries with a jittered backoff, and SIGINT or SIGTERM stop it at any moment (exit 0). The
// daemon's own log lines are JSON, one per line on stderr (sagaflow/http/log.hpp), filtered by
// --log-level; the demo's report is text on stdout.
#include <unistd.h>
#include <algorithm>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "admin_endpoint.hpp"
#include "config.hpp"
#include "demo/demo.hpp"
#include "dependencies.hpp"
#include "retention_runner.hpp"
#include "sagaflow/engine/backoff.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/read_pool.hpp"
#include "sagaflow/engine/retention.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/subflows.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/admin_backend_impl.hpp"
#include "sagaflow/http/dead_letter_log.hpp"
#include "sagaflow/http/json_lines_archive.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/http/server.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/postgres/postgres_store.hpp"
#include "sagaflow/rabbitmq/orchestrator_transport.hpp"
#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "sagaflow/text/printable.hpp"
#include "serving_backend.hpp"

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
  // Sub-flows may name flows of files later in the folder: each file's subflow steps are checked
  // against the whole folder (its latest version of each flow) and what the store had.
  std::map<std::string, std::shared_ptr<const sagaflow::flow::Flow>, std::less<>> folder;
  for (const auto& file : files) {
    auto parsed = sagaflow::flow::load_flow_file(file);
    if (!parsed.ok()) continue;  // reported with its diagnostics below
    auto& latest = folder[parsed.flow->name];
    if (!latest || latest->version < parsed.flow->version) latest = parsed.flow;
  }
  const sagaflow::flow::FindFlow known = [&](std::string_view name) -> const sagaflow::flow::Flow* {
    if (auto it = folder.find(name); it != folder.end()) return it->second.get();
    auto plan = registry.find(name);
    return plan ? &plan->flow() : nullptr;
  };
  for (const auto& file : files) {
    if (auto parsed = sagaflow::flow::load_flow_file(file); parsed.ok()) {
      const auto problems = sagaflow::flow::check_subflows(*parsed.flow, known);
      if (!problems.empty()) {
        sagaflow::http::FlowProblem problem{file.string(), {}};
        for (const auto& d : problems) problem.messages.push_back(d.to_string());
        report(problem);
        ok = false;
        continue;
      }
    }
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
// a flow listens to is bound to the orchestrator's queue. The transport connects in the
// background, reconnecting with backoff, and tells `dependencies` how it goes.
std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> open_broker(
    const sagaflowd::Config& config, const Declared& declared,
    sagaflowd::Dependencies& dependencies, sagaflow::DeadLetterObserver& dead_letters) {
  sagaflow::rabbitmq::OrchestratorSettings settings;
  settings.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(config.amqp_url);
  auto& tls = settings.connection.tls;
  tls.ca_file = config.tls_ca_file;
  tls.cert_file = config.tls_cert_file;
  tls.key_file = config.tls_key_file;
  tls.verify_peer = config.tls_verify_peer;
  tls.verify_hostname = config.tls_verify_hostname;
  settings.connection.on_connection = [&dependencies](bool up, const std::string& error) {
    dependencies.report("broker", up, error);
  };
  settings.topology.prefix = config.amqp_prefix;
  settings.topology.queue_type = sagaflow::rabbitmq::queue_type_from(config.amqp_queue_type);
  settings.partitions = config.partitions;
  settings.services.assign(declared.services.begin(), declared.services.end());
  settings.event_types.assign(declared.events.begin(), declared.events.end());
  settings.dead_letters = &dead_letters;
  log::info("connecting to the broker", {{"url", settings.connection.redacted_url()}});
  return std::make_unique<sagaflow::rabbitmq::OrchestratorTransport>(settings);
}

// A flow deployed over RabbitMQ while running: its services' queues and its events' bindings
// are declared at once (and on every reconnect). The broker says how many consumers each
// service has, for the deploy's warnings.
std::map<std::string, std::uint32_t> declare_for_deploy(
    sagaflow::rabbitmq::OrchestratorTransport& broker, const sagaflow::Plan& plan) {
  try {
    return broker.declare_for_deploy(plan.services(), plan.listened_events());
  } catch (const sagaflow::rabbitmq::Error& error) {
    throw sagaflow::http::NotServing("flow " + plan.flow().name +
                                     ": its queues cannot be declared on the broker now (" +
                                     error.what() + "); deploy it again");
  }
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

// Where the other orchestrators forward operator requests for this one's sagas: the flag, or
// the admin endpoint's own URL, with the host name for a wildcard listen address (which no one
// can connect to).
std::string advertised_admin_url(const sagaflowd::Config& config, std::string listening) {
  if (!config.admin_advertise_url.empty()) return config.admin_advertise_url;
  while (listening.ends_with('/')) listening.pop_back();
  for (std::string_view wildcard : {"http://0.0.0.0:", "http://[::]:"}) {
    if (listening.starts_with(wildcard)) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      return "http://" + std::string(host) + ":" + listening.substr(wildcard.size());
    }
  }
  return listening;
}

// The services nobody consumes while commands wait for them: one warning line per service at
// most once a minute, for as long as it lasts (the same is on /readyz, /metrics and
// GET /api/services).
class UnservedServicesLog {
 public:
  void check(sagaflow::http::AdminBackend& backend) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<sagaflow::ServiceHealth> health;
    try {
      health = backend.services();
    } catch (const std::exception&) {
      return;  // not serving yet: nothing to tell
    }
    for (const auto& h : health) {
      if (!h.without_consumer) continue;
      auto [it, first] = last_warned_.try_emplace(h.service, now);
      if (!first && now - it->second < kEvery) continue;
      it->second = now;
      log::warn("service without consumer",
                {{"service", sagaflow::text::printable(h.service)},
                 {"in_flight", h.in_flight},
                 {"waiting", h.waiting},
                 {"queued", h.queued.value_or(0)},
                 {"detail", "commands wait for this service and no worker consumes them"}});
    }
  }

 private:
  static constexpr auto kEvery = std::chrono::minutes(1);
  std::map<std::string, std::chrono::steady_clock::time_point> last_warned_;
};

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

// Taken synchronously by the main thread alone: blocked in every thread, before any starts.
// A shell starting the daemon in the background sets SIGINT to ignored, which would discard it
// even while waited for: the default disposition comes back first.
sigset_t blocked_signals() {
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Waits up to `timeout` (a monotonic interval) for SIGINT or SIGTERM; true when one came.
bool signalled(const sigset_t& signals, std::chrono::milliseconds timeout) {
  const timespec wait{static_cast<time_t>(timeout.count() / 1000),
                      static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  const int received = sigtimedwait(&signals, nullptr, &wait);
  if (received <= 0) return false;  // the time passed (or another signal interrupted)
  log::info("stopping", {{"signal", received}});
  return true;
}

sagaflow::Backoff start_up_backoff() {
  return sagaflow::Backoff({std::chrono::milliseconds(100), std::chrono::milliseconds(5000)},
                           sagaflow::system_random());
}

// Runs a start-up step until it returns; one that throws `Retryable` is tried again after a
// jittered backoff, any other error is final. False when a signal stopped the daemon first.
template <class Retryable>
bool until_done(const sigset_t& signals, const std::function<void()>& step) {
  auto backoff = start_up_backoff();
  while (true) {
    try {
      step();
      return true;
    } catch (const Retryable&) {
      // Said by the step or the adapter that failed (logged once per outage, on /readyz).
    }
    if (signalled(signals, backoff.next())) return false;
  }
}

// PostgreSQL when a DSN is configured (nullptr when a signal came while waiting for it), else
// the SQLite file.
std::unique_ptr<sagaflow::Store> open_store(const sagaflowd::Config& config,
                                            sagaflowd::Dependencies& dependencies,
                                            const sigset_t& signals) {
  if (config.pg_dsn.empty()) {
    return std::make_unique<sagaflow::sqlite::SqliteStore>(
        sagaflow::sqlite::SqliteOptions{.path = config.db});
  }
  sagaflow::postgres::PostgresOptions options{.dsn = config.pg_dsn, .schema = config.pg_schema};
  options.start_timeout = std::chrono::milliseconds(0);  // retried here, between signals
  options.on_connection = [&dependencies](bool up, const std::string& error) {
    dependencies.report("store", up, error);
  };
  std::unique_ptr<sagaflow::Store> store;
  until_done<sagaflow::postgres::ConnectionError>(
      signals, [&] { store = std::make_unique<sagaflow::postgres::PostgresStore>(options); });
  return store;
}

// Several orchestrators: the leases are renewed through a PostgreSQL connection of their own,
// on a thread of their own, so that neither a long commit nor the broker delays a heartbeat.
// A heartbeat that cannot get through gives up within half the ttl, so that the leases are let
// go in time when the server stays away (the main connection says so in the log). Null when a
// signal came while waiting for PostgreSQL.
std::unique_ptr<sagaflow::postgres::PostgresStore> open_lease_connection(
    const sagaflowd::Config& config, const sigset_t& signals) {
  sagaflow::postgres::PostgresOptions options{.dsn = config.pg_dsn, .schema = config.pg_schema};
  options.application_name = "sagaflow-leases";
  const auto half_ttl = std::chrono::milliseconds(std::max(100, config.lease_ttl_ms / 2));
  options.io_timeout = half_ttl;
  options.reconnect_timeout = half_ttl;
  options.start_timeout = std::chrono::milliseconds(0);  // retried here, between signals
  std::unique_ptr<sagaflow::postgres::PostgresStore> store;
  until_done<sagaflow::postgres::ConnectionError>(
      signals, [&] { store = std::make_unique<sagaflow::postgres::PostgresStore>(options); });
  return store;
}

// The admin endpoint's reads, on connections of their own (never the orchestrator's): a few
// more stores on the same database. Opened once the orchestrator's store is up.
std::unique_ptr<sagaflow::ReadPool> open_read_pool(const sagaflowd::Config& config) {
  std::vector<std::unique_ptr<sagaflow::Store>> readers;
  for (int i = 0; i < config.admin_read_connections; ++i) {
    if (config.pg_dsn.empty()) {
      readers.push_back(std::make_unique<sagaflow::sqlite::SqliteStore>(
          sagaflow::sqlite::SqliteOptions{.path = config.db}));
    } else {
      readers.push_back(std::make_unique<sagaflow::postgres::PostgresStore>(
          sagaflow::postgres::PostgresOptions{.dsn = config.pg_dsn,
                                              .schema = config.pg_schema,
                                              .application_name = "sagaflow-admin"}));
    }
  }
  return std::make_unique<sagaflow::ReadPool>(std::move(readers));
}

// The dependencies watched: PostgreSQL and RabbitMQ when configured, by the names /readyz uses.
std::map<std::string, std::string> watched(const sagaflowd::Config& config) {
  std::map<std::string, std::string> where;
  if (!config.pg_dsn.empty()) where["store"] = store_name(config);
  if (!config.amqp_url.empty()) {
    try {
      where["broker"] =
          sagaflow::rabbitmq::ConnectionSettings::from_url(config.amqp_url).redacted_url();
    } catch (const std::exception&) {
      where["broker"] = sagaflow::rabbitmq::mask_password(config.amqp_url);
    }
  }
  return where;
}

// A line per partition lease gained or lost (several orchestrators).
void log_leases(const std::vector<int>& lost, const std::vector<sagaflow::Lease>& gained) {
  for (int partition : lost) log::info("lease lost", {{"partition", partition}});
  for (const auto& lease : gained) {
    log::info("lease gained", {{"partition", lease.partition}, {"epoch", lease.epoch}});
  }
}

// Rounds until stopped. A round that fails (the store gone for longer than its reconnect
// timeout) is tried again after a backoff: the daemon outlives its servers. The failure is an
// error line unless it is the outage already logged.
void run_orchestrator(sagaflow::Orchestrator& orchestrator, const sagaflowd::Dependencies& servers,
                      std::stop_token stop) {
  auto backoff = start_up_backoff();
  std::mutex mutex;
  std::condition_variable_any woken;
  while (!stop.stop_requested()) {
    try {
      orchestrator.run(stop);
      return;
    } catch (const std::exception& error) {
      log::write(servers.all_up() ? log::Level::error : log::Level::debug,
                 "orchestrator round failed; retrying",
                 {{"error", sagaflow::text::printable(error.what())}});
    }
    std::unique_lock lock(mutex);
    woken.wait_for(lock, stop, backoff.next(), [] { return false; });
  }
}

// Retention and what it runs on: on PostgreSQL a connection of its own, so that its batches
// never wait for the orchestrator's commits; with several orchestrators each removes the
// sagas of the partitions it owns.
struct RetentionParts {
  std::unique_ptr<sagaflow::postgres::PostgresStore> connection;  // PostgreSQL only
  std::unique_ptr<sagaflow::http::JsonLinesArchive> archive;
  sagaflow::Retention retention;
  std::unique_ptr<sagaflowd::RetentionRunner> runner;

  RetentionParts(std::unique_ptr<sagaflow::postgres::PostgresStore> own, sagaflow::Store& shared,
                 std::unique_ptr<sagaflow::http::JsonLinesArchive> files,
                 const sagaflow::FlowRegistry& flows, const sagaflow::Clock& clock,
                 sagaflow::RetentionOptions options, sagaflow::Metrics& metrics,
                 std::function<std::vector<int>()> partitions)
      : connection(std::move(own)),
        archive(std::move(files)),
        retention(connection ? *connection : shared, flows, clock, options, archive.get(), &metrics,
                  std::move(partitions)) {}

  // Ends the pass under way after its batch, and stops waiting for a lost connection.
  void stop() {
    if (connection) connection->stop_retrying();
    runner.reset();
  }
};

std::unique_ptr<RetentionParts> start_retention(const sagaflowd::Config& config,
                                                sagaflow::Store& store, bool on_postgres,
                                                const sagaflow::FlowRegistry& flows,
                                                const sagaflow::Clock& clock,
                                                sagaflow::Metrics& metrics,
                                                const sagaflow::Orchestrator& orchestrator) {
  try {
    std::unique_ptr<sagaflow::postgres::PostgresStore> connection;
    if (on_postgres) {
      sagaflow::postgres::PostgresOptions options{.dsn = config.pg_dsn, .schema = config.pg_schema};
      options.application_name = "sagaflow-retention";
      connection = std::make_unique<sagaflow::postgres::PostgresStore>(options);
    }
    std::unique_ptr<sagaflow::http::JsonLinesArchive> archive;
    if (!config.archive_dir.empty()) {
      archive =
          std::make_unique<sagaflow::http::JsonLinesArchive>(config.archive_dir, flows, clock);
    }
    std::function<std::vector<int>()> partitions;
    if (config.partitions > 0) {
      partitions = [&orchestrator] {
        std::vector<int> owned;
        for (const auto& lease : orchestrator.leases()) owned.push_back(lease.partition);
        if (owned.empty()) owned.push_back(-1);  // owning none, it removes none
        return owned;
      };
    }
    sagaflow::RetentionOptions options{.defaults = {.completed = config.retention_completed,
                                                    .compensated = config.retention_compensated,
                                                    .cancelled = config.retention_cancelled},
                                       .batch = static_cast<std::size_t>(config.retention_batch)};
    auto parts =
        std::make_unique<RetentionParts>(std::move(connection), store, std::move(archive), flows,
                                         clock, options, metrics, std::move(partitions));
    parts->runner = std::make_unique<sagaflowd::RetentionRunner>(
        parts->retention, std::chrono::milliseconds(config.retention_pause_ms),
        std::chrono::seconds(config.retention_interval_s));
    log::info("retention running",
              {{"completed", sagaflow::flow::format_keep_for(config.retention_completed)},
               {"compensated", sagaflow::flow::format_keep_for(config.retention_compensated)},
               {"cancelled", sagaflow::flow::format_keep_for(config.retention_cancelled)},
               {"archive_dir", config.archive_dir}});
    return parts;
  } catch (const std::exception& error) {
    log::error("retention cannot run; finished sagas are kept",
               {{"error", sagaflow::text::printable(error.what())}});
    return nullptr;
  }
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
  log::set_level(config.log_level);
  const sigset_t signals = blocked_signals();

  // The admin endpoint first, so that /healthz and /readyz answer while the servers are awaited.
  sagaflowd::Dependencies dependencies(watched(config));
  sagaflow::demo::DemoClock clock;  // real time; only the demo makes it jump
  sagaflow::FlowRegistry flows;
  sagaflowd::ServingBackend serving(dependencies);
  sagaflow::http::PrometheusMetrics metrics;
  sagaflow::http::AdminApi api(
      serving,
      {.token = config.admin_token,
       .flow_checks = {.budget = std::chrono::milliseconds(config.admin_flow_check_ms)},
       .max_streams = static_cast<std::size_t>(config.admin_max_streams)},
      &metrics);
  std::unique_ptr<sagaflowd::AdminEndpoint> admin;
  try {
    admin = std::make_unique<sagaflowd::AdminEndpoint>(api, config);
  } catch (const std::exception& error) {
    log::error(
        "the admin endpoint cannot listen",
        {{"address", config.admin_address}, {"port", config.admin_port}, {"error", error.what()}});
    return 2;
  }
  log::info("admin endpoint listening",
            {{"url", admin->url()}, {"token_required", !config.admin_token.empty()}});

  std::unique_ptr<sagaflow::Store> store_owner;
  try {
    store_owner = open_store(config, dependencies, signals);
  } catch (const std::exception& error) {
    log::error("cannot open the store",
               {{"store", store_name(config)}, {"error", sagaflow::text::printable(error.what())}});
    return 1;
  }
  if (!store_owner) return 0;  // stopped while waiting for PostgreSQL
  auto* postgres = dynamic_cast<sagaflow::postgres::PostgresStore*>(store_owner.get());
  sagaflow::Store& store = *store_owner;
  try {
    if (!load_flows(config.flows, store, flows, clock)) return 2;
  } catch (const std::exception& error) {
    log::error("cannot load the flows", {{"error", sagaflow::text::printable(error.what())}});
    return 1;
  }
  const auto declared = declared_for(flows);

  // Every dead letter, whichever transport makes it, is counted by reason and logged.
  sagaflow::http::DeadLetterLog dead_letter_log;
  sagaflow::DeadLetterObservers dead_letters{&metrics, &dead_letter_log};

  std::unique_ptr<sagaflow::rabbitmq::OrchestratorTransport> broker;
  sagaflow::OrchestratorOptions options;
  if (!config.amqp_url.empty()) {
    try {
      broker = open_broker(config, declared, dependencies, dead_letters);
    } catch (const std::exception& error) {
      log::error("cannot use the broker", {{"error", error.what()}});  // no password
      return 1;
    }
    // Its topology is declared on connect: nothing runs before (and no lease is taken).
    while (!broker->connected()) {
      if (signalled(signals, std::chrono::milliseconds(100))) return 0;
    }
    options.engine.reply_to = sagaflow::rabbitmq::Topology{config.amqp_prefix}.reply_queue();
  }
  options.fault_point = fault_hook(config);
  std::unique_ptr<sagaflow::postgres::PostgresStore> lease_connection;
  if (config.partitions > 0) {
    // open_store gave PostgreSQL: the config refuses partitions without it.
    options.leases = dynamic_cast<sagaflow::PartitionedStore*>(&store);
    lease_connection = open_lease_connection(config, signals);
    if (!lease_connection) return 0;  // stopped while waiting for PostgreSQL
    options.lease_store = lease_connection.get();
    options.renew_leases_on_own_thread = true;
    options.owner = config.owner.empty() ? default_owner() : config.owner;
    options.partition_count = config.partitions;
    options.lease_ttl = sagaflow::Duration(config.lease_ttl_ms);
    options.heartbeat_every = sagaflow::Duration(std::max(100, config.lease_ttl_ms / 5));
    options.on_leases_changed = log_leases;
    const auto url = advertised_admin_url(config, admin->url());
    try {
      lease_connection->advertise(options.owner, url);
    } catch (const std::exception& error) {
      log::warn("cannot record the admin URL; operator requests are not forwarded here",
                {{"url", url}, {"error", sagaflow::text::printable(error.what())}});
    }
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
  options.max_in_flight_per_service = static_cast<std::size_t>(config.max_in_flight_per_service);
  sagaflow::SagaChangeFeed changes;  // what the event streams and waiting starts are told
  options.on_committed = [&changes](std::vector<sagaflow::SagaChange> committed) {
    changes.publish(std::move(committed));
  };
  sagaflow::Orchestrator orchestrator(flows, store, transport, clock, options);
  const auto stop_workers = [&] {
    guard.reset();
    workers.stop();
    worker_thread.join();
  };

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
  const bool recovered = until_done<std::exception>(signals, [&] {
    try {
      orchestrator.recover(!broker);
    } catch (const std::exception& error) {
      log::warn("recovery failed; retrying", {{"error", sagaflow::text::printable(error.what())}});
      throw;
    }
  });
  if (!recovered) {
    stop_workers();
    return 0;
  }
  std::jthread orchestrator_thread(
      [&](std::stop_token stop) { run_orchestrator(orchestrator, dependencies, stop); });
  log::info("sagaflowd running",
            {{"transport", broker ? "rabbitmq" : "embedded"}, {"store", store_name(config)}});

  // The admin requests now reach the orchestrator. A deployed flow's events reach it at once,
  // on the bus as over RabbitMQ (which declares its services' queues then).
  std::unique_ptr<sagaflow::ReadPool> reads;
  try {
    reads = open_read_pool(config);
  } catch (const std::exception& error) {
    log::error("cannot open the admin endpoint's read connections",
               {{"error", sagaflow::text::printable(error.what())}});
    orchestrator_thread.request_stop();
    orchestrator_thread.join();
    stop_workers();
    return 1;
  }
  sagaflow::http::BackendHooks hooks;
  hooks.changes = &changes;
  hooks.reads = reads.get();
  hooks.service_queues = broker ? static_cast<sagaflow::ServiceQueues*>(broker.get())
                                : static_cast<sagaflow::ServiceQueues*>(&bus);
  if (lease_connection) {
    hooks.owner_of = [&](int partition) { return lease_connection->owner_of(partition); };
  }
  if (broker) {
    hooks.prepare_deploy = [&](const sagaflow::Plan& plan) {
      return declare_for_deploy(*broker, plan);
    };
    hooks.send_event = [&](sagaflow::Message event) {
      return broker->send_outside_event(std::move(event));
    };
  } else {
    hooks.prepare_deploy = [&](const sagaflow::Plan& plan) {
      return bus.declare_for_deploy(plan.services(), plan.listened_events());
    };
    hooks.send_event = [&](sagaflow::Message event) {
      return bus.send_outside_event(std::move(event));
    };
  }
  auto retention =
      start_retention(config, store, postgres != nullptr, flows, clock, metrics, orchestrator);
  if (retention) {
    hooks.purge_preview = [&](const sagaflow::PurgeScope& scope) {
      return retention->retention.preview(scope);
    };
    hooks.purge = [&](const sagaflow::PurgeScope& scope) {
      return retention->runner->purge_now(scope);
    };
  }
  sagaflow::http::AdminBackendImpl backend(orchestrator, store, flows, clock, std::move(hooks));
  serving.serve(backend);

  int exit_code = 0;
  if (config.demo) {
    sagaflow::demo::World world{orchestrator, store, bus, clock, participants};
    exit_code = sagaflow::demo::run(world) ? 0 : 1;
  }
  if (!config.demo || !config.exit_after_demo) {
    log::info("serving; Ctrl-C stops", {{"admin", admin->url()}});
    UnservedServicesLog unserved;
    do {
      unserved.check(backend);
    } while (!signalled(signals, std::chrono::seconds(2)));
  }

  // The endpoint first: its requests wait on the orchestrator, never the other way round. A
  // store that is down fails the last calls at once instead of retrying them.
  admin.reset();
  if (postgres != nullptr) postgres->stop_retrying();
  if (lease_connection) lease_connection->stop_retrying();
  if (retention) retention->stop();
  orchestrator_thread.request_stop();
  orchestrator_thread.join();
  try {
    orchestrator.release();  // the others take this process's partitions at once
  } catch (const std::exception&) {
    // The store cannot be reached: the leases expire after their ttl instead.
  }
  stop_workers();
  return exit_code;
}
