#pragma once
// sagaflowd's settings: defaults, then a config file, then environment variables, then the
// command line, each overriding the one before. Kept apart from main so that tests check the
// precedence and every error message.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sagaflow/flow/flow.hpp"
#include "sagaflow/http/log.hpp"

namespace sagaflowd {

struct Config {
  std::filesystem::path flows = "definitions";
  std::string db = "sagaflow.db";
  // PostgreSQL instead of the SQLite file when set: a libpq connection string or URI. It may
  // hold a password, so it is never printed (postgres::redacted_dsn).
  std::string pg_dsn;
  std::string pg_schema;  // the schema of Sagaflow's tables; empty = the role's search_path
  bool demo = false;
  bool exit_after_demo = false;
  bool help = false;
  // Log lines below this level are dropped: debug (adds a line per admin request), info, warn,
  // error.
  sagaflow::log::Level log_level = sagaflow::log::Level::info;

  // RabbitMQ; empty = the embedded in-process bus.
  std::string amqp_url;
  std::string amqp_prefix = "sagaflow";  // the topology's names (docs/protocol.md)
  // "quorum" (the default) or "classic", for every queue of the deployment (docs/protocol.md).
  std::string amqp_queue_type = "quorum";
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_verify_peer = true;
  bool tls_verify_hostname = true;

  // The admin endpoint (docs/admin-api.md): `admin_listen = HOST:PORT` (an IP address, or
  // localhost), loopback only unless a token is set.
  std::string admin_address = "127.0.0.1";
  std::uint16_t admin_port = 7070;
  // The bearer token every admin route but /healthz and /readyz then needs: read from
  // admin_token_file, or SAGAFLOW_ADMIN_TOKEN; never from the command line (ps shows it), and
  // never printed. Empty = no token.
  std::string admin_token_file;
  std::string admin_token;
  // How long a flow posted to the admin endpoint may take to be parsed and verified
  // (`admin_flow_check_ms`, 100 to 60000): longer is refused with 422.
  int admin_flow_check_ms = 2000;
  // Event streams (GET /api/sagas/events) open at once (`admin_max_streams`, 1 to 10000).
  int admin_max_streams = 32;
  // API requests run on `admin_threads` threads with at most `admin_queue` more waiting; their
  // reads use `admin_read_connections` connections of their own (never the orchestrator's).
  int admin_threads = 4;
  int admin_queue = 64;
  int admin_read_connections = 2;

  // Several orchestrators on one PostgreSQL and one RabbitMQ: the sagas hash into `partitions`
  // (the same number in every process, never changed once sagas exist), each process leases a
  // fair share. 0 = this process is the only orchestrator. `owner` names this process in the
  // leases (default: host name and process id); `lease_ttl_ms` is how long a silent owner keeps
  // its partitions.
  int partitions = 0;
  std::string owner;
  int lease_ttl_ms = 5000;
  // Where the other orchestrators forward an operator's request for a saga of this process's
  // partitions (`admin_advertise_url`, http:// only). Empty: http://ADMIN_LISTEN (a wildcard
  // listen address gives the host name instead).
  std::string admin_advertise_url;

  // Backpressure: at most this many commands of one service in flight from this process; the
  // others wait in the store's outbox, in order (OrchestratorOptions::max_in_flight_per_service).
  // 0 = no limit.
  int max_in_flight_per_service = 256;
  // Retention (docs/retention.md): finished sagas are removed once their last change is older
  // than their flow's age for their status (the flow file's `retention:`), else these defaults
  // ("7d", "30d", or "never"). Failed sagas are never removed. A pass runs every
  // `retention_interval_s`, in batches of `retention_batch` sagas `retention_pause_ms` apart;
  // with `archive_dir` set each batch is first appended to JSON lines files there.
  sagaflow::flow::KeepFor retention_completed{.forever = false, .age = std::chrono::days(7)};
  sagaflow::flow::KeepFor retention_compensated{.forever = false, .age = std::chrono::days(30)};
  sagaflow::flow::KeepFor retention_cancelled{.forever = false, .age = std::chrono::days(30)};
  int retention_batch = 500;
  int retention_pause_ms = 100;
  int retention_interval_s = 60;
  std::string archive_dir;

  // Recovery drills only (SAGAFLOW_FAULT_AT=POINT[:N], never from a file): the process kills
  // itself with SIGKILL the Nth time (default 1) the orchestrator passes that fault point
  // (OrchestratorOptions::fault_point), so that tests restart it there.
  std::string fault_point;
  int fault_hits = 0;
};

// A bad setting: its text says where it came from (file:line, variable or argument).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks an environment variable up; empty when unset (tests pass their own).
using Environment = std::function<std::string(const char* name)>;
Environment process_environment();

// args excludes the program name. Throws ConfigError.
Config load_config(const std::vector<std::string>& args, const Environment& env);

std::string usage();

}  // namespace sagaflowd
