#include "config.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/asio/ip/address.hpp>

#include "sagaflow/text/printable.hpp"

namespace sagaflowd {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

bool parse_bool(const std::string& value, const std::string& where) {
  if (value == "true" || value == "yes" || value == "1") return true;
  if (value == "false" || value == "no" || value == "0") return false;
  throw ConfigError(where + ": expected true or false, found '" + value + "'");
}

// HOST:PORT, [IPv6]:PORT or localhost:PORT.
void apply_listen(Config& c, const std::string& value, const std::string& where) {
  const auto colon = value.rfind(':');
  const auto bad = [&] {
    return ConfigError(where + ": expected HOST:PORT (an IP address, or localhost), found '" +
                       value + "'");
  };
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) throw bad();
  auto host = value.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) throw bad();
  unsigned long port = 0;
  for (char ch : value.substr(colon + 1)) {
    if (ch < '0' || ch > '9' || port > 65535) throw bad();
    port = port * 10 + static_cast<unsigned long>(ch - '0');
  }
  if (port > 65535) throw bad();
  c.admin_address = host;
  c.admin_port = static_cast<std::uint16_t>(port);
}

// The token file's content without the line end editors add. Errors name the file, never the
// content.
std::string read_token(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("admin_token_file " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  auto token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  return token;
}

void check_token(const std::string& token, const std::string& where) {
  if (token.empty()) throw ConfigError(where + ": the admin token is empty");
  for (unsigned char ch : token) {
    if (ch <= ' ' || ch >= 0x7f) {
      throw ConfigError(where + ": the admin token may only hold printable characters, no spaces");
    }
  }
  if (token.size() < 16) throw ConfigError(where + ": the admin token needs 16 characters or more");
}

int parse_int(const std::string& value, int low, int high, const std::string& where) {
  std::size_t used = 0;
  int number = 0;
  try {
    number = std::stoi(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || number < low || number > high) {
    throw ConfigError(where + ": expected a whole number from " + std::to_string(low) + " to " +
                      std::to_string(high) + ", not '" + value + "'");
  }
  return number;
}

sagaflow::flow::KeepFor parse_keep_for(const std::string& value, const std::string& where) {
  std::string error;
  auto keep = sagaflow::flow::parse_keep_for(value, error);
  if (!keep) throw ConfigError(where + ": " + sagaflow::text::printable(error));
  return *keep;
}

// One setting, by the name it has in a config file; `where` names its source for errors.
void apply(Config& c, const std::string& key, const std::string& value, const std::string& where) {
  if (key == "flows") {
    c.flows = value;
  } else if (key == "db") {
    c.db = value;
  } else if (key == "pg_dsn") {
    c.pg_dsn = value;
  } else if (key == "pg_schema") {
    c.pg_schema = value;
  } else if (key == "partitions") {
    c.partitions = parse_int(value, 0, 4096, where);
  } else if (key == "owner") {
    c.owner = value;
  } else if (key == "admin_advertise_url") {
    if (!value.starts_with("http://")) {
      throw ConfigError(where + ": admin_advertise_url must be an http:// URL");
    }
    c.admin_advertise_url = value;
  } else if (key == "lease_ttl_ms") {
    c.lease_ttl_ms = parse_int(value, 500, 600000, where);
  } else if (key == "max_in_flight_per_service") {
    c.max_in_flight_per_service = parse_int(value, 0, 1000000, where);
  } else if (key == "retention_completed") {
    c.retention_completed = parse_keep_for(value, where);
  } else if (key == "retention_compensated") {
    c.retention_compensated = parse_keep_for(value, where);
  } else if (key == "retention_cancelled") {
    c.retention_cancelled = parse_keep_for(value, where);
  } else if (key == "retention_batch") {
    c.retention_batch = parse_int(value, 1, 10000, where);
  } else if (key == "retention_pause_ms") {
    c.retention_pause_ms = parse_int(value, 0, 60000, where);
  } else if (key == "retention_interval_s") {
    c.retention_interval_s = parse_int(value, 1, 86400, where);
  } else if (key == "archive_dir") {
    if (value.empty()) throw ConfigError(where + ": archive_dir needs a folder");
    c.archive_dir = value;
  } else if (key == "log_level") {
    auto level = sagaflow::log::parse_level(value);
    if (!level) {
      throw ConfigError(where + ": expected debug, info, warn or error, found '" +
                        sagaflow::text::printable(value) + "'");
    }
    c.log_level = *level;
  } else if (key == "amqp_url") {
    c.amqp_url = value;
  } else if (key == "amqp_prefix") {
    if (value.empty()) throw ConfigError(where + ": amqp_prefix may not be empty");
    c.amqp_prefix = value;
  } else if (key == "amqp_queue_type") {
    if (value != "quorum" && value != "classic") {
      throw ConfigError(where + ": expected quorum or classic, found '" +
                        sagaflow::text::printable(value) + "'");
    }
    c.amqp_queue_type = value;
  } else if (key == "tls_ca_file") {
    c.tls_ca_file = value;
  } else if (key == "tls_cert_file") {
    c.tls_cert_file = value;
  } else if (key == "tls_key_file") {
    c.tls_key_file = value;
  } else if (key == "tls_verify_peer") {
    c.tls_verify_peer = parse_bool(value, where);
  } else if (key == "tls_verify_hostname") {
    c.tls_verify_hostname = parse_bool(value, where);
  } else if (key == "admin_listen") {
    apply_listen(c, value, where);
  } else if (key == "admin_flow_check_ms") {
    c.admin_flow_check_ms = parse_int(value, 100, 60000, where);
  } else if (key == "admin_read_connections") {
    c.admin_read_connections = parse_int(value, 1, 64, where);
  } else if (key == "admin_threads") {
    c.admin_threads = parse_int(value, 1, 64, where);
  } else if (key == "admin_queue") {
    c.admin_queue = parse_int(value, 0, 10000, where);
  } else if (key == "admin_max_streams") {
    c.admin_max_streams = parse_int(value, 1, 10000, where);
  } else if (key == "admin_token_file") {
    if (value.empty()) throw ConfigError(where + ": admin_token_file needs a file");
    c.admin_token_file = value;  // overrides a token from a source read before
    c.admin_token.clear();
  } else if (key == "admin_token") {
    throw ConfigError(where +
                      ": the admin token is read from a file (admin_token_file) or "
                      "SAGAFLOW_ADMIN_TOKEN, never given here");
  } else {
    throw ConfigError(where + ": unknown setting '" + key + "'");
  }
}

// `key = value` lines; `#` starts a comment line.
void read_file(Config& c, const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path.string() + ": cannot be read");
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    const auto equals = text.find('=');
    if (equals == std::string::npos) throw ConfigError(where + ": expected 'key = value'");
    apply(c, trim(text.substr(0, equals)), trim(text.substr(equals + 1)), where);
  }
}

// Environment variables, by setting: SAGAFLOW_AMQP_URL and friends.
const std::map<std::string, std::string>& environment_names() {
  static const std::map<std::string, std::string> names = {
      {"SAGAFLOW_FLOWS", "flows"},
      {"SAGAFLOW_DB", "db"},
      {"SAGAFLOW_PG_DSN", "pg_dsn"},
      {"SAGAFLOW_PG_SCHEMA", "pg_schema"},
      {"SAGAFLOW_PARTITIONS", "partitions"},
      {"SAGAFLOW_OWNER", "owner"},
      {"SAGAFLOW_ADMIN_ADVERTISE_URL", "admin_advertise_url"},
      {"SAGAFLOW_LEASE_TTL_MS", "lease_ttl_ms"},
      {"SAGAFLOW_MAX_IN_FLIGHT_PER_SERVICE", "max_in_flight_per_service"},
      {"SAGAFLOW_AMQP_URL", "amqp_url"},
      {"SAGAFLOW_AMQP_PREFIX", "amqp_prefix"},
      {"SAGAFLOW_AMQP_QUEUE_TYPE", "amqp_queue_type"},
      {"SAGAFLOW_TLS_CA_FILE", "tls_ca_file"},
      {"SAGAFLOW_TLS_CERT_FILE", "tls_cert_file"},
      {"SAGAFLOW_TLS_KEY_FILE", "tls_key_file"},
      {"SAGAFLOW_TLS_VERIFY_PEER", "tls_verify_peer"},
      {"SAGAFLOW_TLS_VERIFY_HOSTNAME", "tls_verify_hostname"},
      {"SAGAFLOW_ADMIN_LISTEN", "admin_listen"},
      {"SAGAFLOW_ADMIN_FLOW_CHECK_MS", "admin_flow_check_ms"},
      {"SAGAFLOW_ADMIN_MAX_STREAMS", "admin_max_streams"},
      {"SAGAFLOW_ADMIN_READ_CONNECTIONS", "admin_read_connections"},
      {"SAGAFLOW_ADMIN_THREADS", "admin_threads"},
      {"SAGAFLOW_ADMIN_QUEUE", "admin_queue"},
      {"SAGAFLOW_LOG_LEVEL", "log_level"},
      {"SAGAFLOW_RETENTION_COMPLETED", "retention_completed"},
      {"SAGAFLOW_RETENTION_COMPENSATED", "retention_compensated"},
      {"SAGAFLOW_RETENTION_CANCELLED", "retention_cancelled"},
      {"SAGAFLOW_RETENTION_BATCH", "retention_batch"},
      {"SAGAFLOW_RETENTION_PAUSE_MS", "retention_pause_ms"},
      {"SAGAFLOW_RETENTION_INTERVAL_S", "retention_interval_s"},
      {"SAGAFLOW_ARCHIVE_DIR", "archive_dir"},
  };
  return names;
}

}  // namespace

Environment process_environment() {
  return [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
}

Config load_config(const std::vector<std::string>& args, const Environment& env) {
  Config c;
  // The file first, wherever --config appears, so that the command line overrides it.
  std::string config_file = env("SAGAFLOW_CONFIG");
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw ConfigError("--config needs a file");
      config_file = args[i + 1];
    }
  }
  if (!config_file.empty()) read_file(c, config_file);
  for (const auto& [variable, key] : environment_names()) {
    const auto value = env(variable.c_str());
    if (!value.empty()) apply(c, key, value, variable);
  }
  if (auto fault = env("SAGAFLOW_FAULT_AT"); !fault.empty()) {
    static const std::set<std::string> points = {"before_commit", "after_commit",
                                                 "mid_compensation", "after_publish"};
    const auto colon = fault.find(':');
    c.fault_point = fault.substr(0, colon);
    c.fault_hits = 1;
    if (colon != std::string::npos) {
      try {
        c.fault_hits = std::stoi(fault.substr(colon + 1));
      } catch (const std::exception&) {
        c.fault_hits = 0;
      }
    }
    if (!points.contains(c.fault_point) || c.fault_hits < 1) {
      throw ConfigError(
          "SAGAFLOW_FAULT_AT: expected POINT[:N] with POINT one of before_commit, "
          "after_commit, mid_compensation, after_publish and N >= 1");
    }
  }
  if (auto token = env("SAGAFLOW_ADMIN_TOKEN"); !token.empty()) {
    check_token(token, "SAGAFLOW_ADMIN_TOKEN");
    c.admin_token = std::move(token);
    c.admin_token_file.clear();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg == "--demo") {
      c.demo = true;
    } else if (arg == "--exit") {
      c.exit_after_demo = true;
    } else if (arg == "--help" || arg == "-h") {
      c.help = true;
    } else if (arg == "--config") {
      ++i;
    } else if (arg.starts_with("--") && arg.size() > 2) {
      if (i + 1 >= args.size()) throw ConfigError(arg + " needs a value");
      auto key = arg.substr(2);
      for (auto& ch : key) ch = ch == '-' ? '_' : ch;
      if (key == "amqp") key = "amqp_url";
      apply(c, key, args[++i], arg);
    } else {
      throw ConfigError("unknown argument '" + arg + "'");
    }
  }
  if (!c.admin_token_file.empty()) {
    c.admin_token = read_token(c.admin_token_file);
    check_token(c.admin_token, "admin_token_file " + c.admin_token_file);
  }
  if (c.admin_token.empty() && !boost::asio::ip::make_address(c.admin_address).is_loopback()) {
    throw ConfigError("admin_listen " + c.admin_address +
                      " is not a loopback address: the admin endpoint listens there only with "
                      "a token (--admin-token-file or SAGAFLOW_ADMIN_TOKEN)");
  }
  if (c.partitions > 0 && (c.pg_dsn.empty() || c.amqp_url.empty())) {
    throw ConfigError(
        "partitions (several orchestrators) need PostgreSQL (pg_dsn) and RabbitMQ (amqp_url)");
  }
  if (c.exit_after_demo && !c.demo) throw ConfigError("--exit only goes with --demo");
  if (c.demo && !c.amqp_url.empty()) {
    throw ConfigError("--demo serves the participants in-process; it does not run over RabbitMQ");
  }
  return c;
}

std::string usage() {
  return "usage: sagaflowd [--config FILE] [--flows DIR] [--db FILE] [--amqp URL] [--demo "
         "[--exit]]\n"
         "  --flows DIR       load every *.yaml flow in DIR (default: definitions)\n"
         "  --db FILE         the SQLite file (default: sagaflow.db; :memory: for none)\n"
         "  --pg-dsn DSN      PostgreSQL instead of SQLite (libpq string or URI; better in\n"
         "                    SAGAFLOW_PG_DSN or the config file: ps shows arguments)\n"
         "  --pg-schema S     the schema of Sagaflow's tables (default: the search_path)\n"
         "  --partitions N    several orchestrators share the sagas in N partitions (needs\n"
         "                    PostgreSQL and RabbitMQ; the same N everywhere; default 0: one)\n"
         "  --owner NAME      this process in the partition leases (default: host:pid)\n"
         "  --admin-advertise-url URL   where the other orchestrators forward operator\n"
         "                    requests for this one's sagas (default: http://ADMIN_LISTEN;\n"
         "                    a wildcard address gives the host name)\n"
         "  --lease-ttl-ms MS how long a silent orchestrator keeps its partitions (5000)\n"
         "  --max-in-flight-per-service N   commands of one service out at once from this\n"
         "                    process (256; 0: no limit); the others wait in the store\n"
         "  --amqp URL        run over RabbitMQ (amqp:// or amqps://) instead of in-process\n"
         "  --amqp-prefix P   the topology's name prefix (default: sagaflow)\n"
         "  --amqp-queue-type T   quorum (default; clusters) or classic (one node: faster\n"
         "                    hand-over; every process of the deployment must say the same)\n"
         "  --tls-ca-file F, --tls-cert-file F, --tls-key-file F, --tls-verify-peer B,\n"
         "  --tls-verify-hostname B   TLS for amqps://, passed to rabbitmq-c\n"
         "  --admin-listen HOST:PORT   the admin endpoint (default: 127.0.0.1:7070); other\n"
         "                    than loopback only with a token\n"
         "  --admin-token-file F   the bearer token every admin route but /healthz and\n"
         "                    /readyz then needs (or SAGAFLOW_ADMIN_TOKEN)\n"
         "  --admin-flow-check-ms MS   how long a posted flow may take to be parsed and\n"
         "                    verified (2000; 100 to 60000): longer is refused with 422\n"
         "  --admin-max-streams N   event streams (GET /api/sagas/events) open at once (32;\n"
         "                    1 to 10000): one more is answered 503\n"
         "  --admin-threads N   threads that answer API requests (4; 1 to 64)\n"
         "  --admin-queue N     API requests that may wait for one (64; 0 to 10000): one\n"
         "                    more is answered 503 (/healthz, /readyz, /metrics never wait)\n"
         "  --admin-read-connections N   the API's own connections to the store (2; 1 to 64)\n"
         "  --log-level L     debug, info, warn or error (default: info); debug adds a line\n"
         "                    per admin request\n"
         "  --retention-completed AGE, --retention-compensated AGE,\n"
         "  --retention-cancelled AGE   how long finished sagas are kept when their flow file\n"
         "                    says nothing (7d, 30d, 30d; a duration or never)\n"
         "  --retention-batch N   sagas removed per transaction (500; 1 to 10000)\n"
         "  --retention-pause-ms MS   pause between two batches (100; 0 to 60000), and at\n"
         "                    least 9 times as long as the batch took\n"
         "  --retention-interval-s S  a retention pass every S seconds (60; 1 to 86400)\n"
         "  --archive-dir DIR  append each removed saga with its history to JSON lines\n"
         "                    files there first (sagas-YYYY-MM-DD.jsonl)\n"
         "  --config FILE     'key = value' lines with the same names (amqp_url, db, ...)\n"
         "  --demo            serve the example participants in-process and run the scenarios\n"
         "  --exit            with --demo: stop after the scenarios; fail if one went wrong\n"
         "Environment: SAGAFLOW_CONFIG, SAGAFLOW_FLOWS, SAGAFLOW_DB, SAGAFLOW_AMQP_URL,\n"
         "SAGAFLOW_PG_DSN, SAGAFLOW_PG_SCHEMA, SAGAFLOW_PARTITIONS, SAGAFLOW_OWNER,\n"
         "SAGAFLOW_ADMIN_ADVERTISE_URL, "
         "SAGAFLOW_LEASE_TTL_MS, SAGAFLOW_AMQP_PREFIX, SAGAFLOW_TLS_*,\n"
         "SAGAFLOW_ADMIN_LISTEN, SAGAFLOW_ADMIN_FLOW_CHECK_MS, SAGAFLOW_ADMIN_MAX_STREAMS,\n"
         "SAGAFLOW_ADMIN_THREADS, SAGAFLOW_ADMIN_QUEUE, SAGAFLOW_ADMIN_READ_CONNECTIONS, "
         "SAGAFLOW_ADMIN_TOKEN,\n"
         "SAGAFLOW_LOG_LEVEL, SAGAFLOW_RETENTION_*, SAGAFLOW_ARCHIVE_DIR;\n"
         "SAGAFLOW_FAULT_AT=POINT[:N] (recovery drills: SIGKILL at the Nth\n"
         "pass of a fault point);\n"
         "the command line overrides them, and they override the config file.\n";
}

}  // namespace sagaflowd
