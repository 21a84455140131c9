// sagaflowd's settings: where each comes from, which wins, and what a mistake says.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "config.hpp"

using sagaflowd::Config;
using sagaflowd::ConfigError;
using sagaflowd::load_config;

namespace {

sagaflowd::Environment environment(std::map<std::string, std::string> values) {
  return [values](const char* name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
}

std::filesystem::path write_file(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::vector<std::string>& args,
                     std::map<std::string, std::string> env = {}) {
  try {
    load_config(args, environment(std::move(env)));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("sagaflowd config: embedded by default, with the definitions folder and a SQLite file") {
  auto c = load_config({}, environment({}));
  CHECK(c.amqp_url.empty());
  CHECK(c.flows == "definitions");
  CHECK(c.db == "sagaflow.db");
  CHECK(c.amqp_prefix == "sagaflow");
  CHECK(c.amqp_queue_type == "quorum");
}

TEST_CASE("sagaflowd config: the queue type is quorum or classic, from any source") {
  CHECK(load_config({"--amqp-queue-type", "classic"}, environment({})).amqp_queue_type ==
        "classic");
  CHECK(load_config({}, environment({{"SAGAFLOW_AMQP_QUEUE_TYPE", "classic"}})).amqp_queue_type ==
        "classic");
  CHECK(error_of({"--amqp-queue-type", "lazy"}) ==
        "--amqp-queue-type: expected quorum or classic, found 'lazy'");
}

TEST_CASE("sagaflowd config: the command line beats the environment, which beats the file") {
  auto file = write_file("sagaflowd-precedence.conf",
                         "# a comment\n"
                         "amqp_url = amqp://file@h/\n"
                         "db = file.db\n"
                         "flows = file-flows\n"
                         "tls_verify_peer = false\n");
  auto c =
      load_config({"--config", file.string(), "--db", "cli.db"},
                  environment({{"SAGAFLOW_AMQP_URL", "amqp://env@h/"}, {"SAGAFLOW_DB", "env.db"}}));
  CHECK(c.db == "cli.db");
  CHECK(c.amqp_url == "amqp://env@h/");
  CHECK(c.flows == "file-flows");
  CHECK_FALSE(c.tls_verify_peer);
  CHECK(c.tls_verify_hostname);
  std::filesystem::remove(file);
}

TEST_CASE("sagaflowd config: SAGAFLOW_CONFIG names the file, --amqp and TLS options are read") {
  auto file = write_file("sagaflowd-env.conf", "amqp_prefix = staging\n");
  auto c = load_config({"--amqp", "amqps://u:p@broker/", "--tls-ca-file", "/etc/ca.pem"},
                       environment({{"SAGAFLOW_CONFIG", file.string()}}));
  CHECK(c.amqp_prefix == "staging");
  CHECK(c.amqp_url == "amqps://u:p@broker/");
  CHECK(c.tls_ca_file == "/etc/ca.pem");
  std::filesystem::remove(file);
}

TEST_CASE("sagaflowd config: every mistake says where it is") {
  auto file = write_file("sagaflowd-broken.conf", "db = x.db\nno equals sign\n");
  CHECK(error_of({"--config", file.string()}) == file.string() + ":2: expected 'key = value'");
  std::filesystem::remove(file);
  auto unknown = write_file("sagaflowd-unknown.conf", "colour = blue\n");
  CHECK(error_of({"--config", unknown.string()}) ==
        unknown.string() + ":1: unknown setting 'colour'");
  std::filesystem::remove(unknown);
  CHECK(error_of({"--config", "/nonexistent/sagaflowd.conf"}) ==
        "/nonexistent/sagaflowd.conf: cannot be read");
  CHECK(error_of({"--db"}) == "--db needs a value");
  CHECK(error_of({"stray"}) == "unknown argument 'stray'");
  CHECK(error_of({}, {{"SAGAFLOW_TLS_VERIFY_PEER", "maybe"}}) ==
        "SAGAFLOW_TLS_VERIFY_PEER: expected true or false, found 'maybe'");
  CHECK(error_of({"--exit"}) == "--exit only goes with --demo");
  CHECK(error_of({"--demo", "--amqp", "amqp://h/"}).find("in-process") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The admin endpoint's settings

namespace {
constexpr const char* kToken = "s3cret-token-0123456789";
}  // namespace

TEST_CASE("sagaflowd config: the admin endpoint listens on 127.0.0.1:7070 without a token") {
  auto c = load_config({}, environment({}));
  CHECK(c.admin_address == "127.0.0.1");
  CHECK(c.admin_port == 7070);
  CHECK(c.admin_token.empty());
}

TEST_CASE(
    "sagaflowd config: a posted flow's check budget is 2 s unless set, within 100 ms to 60 s") {
  CHECK(load_config({}, environment({})).admin_flow_check_ms == 2000);
  CHECK(load_config({"--admin-flow-check-ms", "500"}, environment({})).admin_flow_check_ms == 500);
  CHECK(load_config({}, environment({{"SAGAFLOW_ADMIN_FLOW_CHECK_MS", "60000"}}))
            .admin_flow_check_ms == 60000);
  CHECK_THROWS_AS(load_config({"--admin-flow-check-ms", "99"}, environment({})), ConfigError);
  CHECK_THROWS_AS(load_config({"--admin-flow-check-ms", "soon"}, environment({})), ConfigError);
}

TEST_CASE("sagaflowd config: admin_listen comes from the file, the environment or the command") {
  auto file = write_file("sagaflowd-admin.conf", "admin_listen = 127.0.0.2:7001\n");
  CHECK(load_config({"--config", file.string()}, environment({})).admin_port == 7001);
  auto env = load_config({"--config", file.string()},
                         environment({{"SAGAFLOW_ADMIN_LISTEN", "127.0.0.3:7002"}}));
  CHECK(env.admin_address == "127.0.0.3");
  CHECK(env.admin_port == 7002);
  auto cli = load_config({"--config", file.string(), "--admin-listen", "[::1]:0"},
                         environment({{"SAGAFLOW_ADMIN_LISTEN", "127.0.0.3:7002"}}));
  CHECK(cli.admin_address == "::1");
  CHECK(cli.admin_port == 0);
  CHECK(load_config({"--admin-listen", "localhost:8080"}, environment({})).admin_address ==
        "127.0.0.1");
  std::filesystem::remove(file);
}

TEST_CASE("sagaflowd config: a malformed admin_listen says what it expects") {
  for (const char* bad :
       {"7070", "127.0.0.1", "127.0.0.1:", "example.com:80", "127.0.0.1:70000", "127.0.0.1:7o"}) {
    CAPTURE(bad);
    CHECK(error_of({"--admin-listen", bad}) ==
          std::string("--admin-listen: expected HOST:PORT (an IP address, or localhost), found '") +
              bad + "'");
  }
}

TEST_CASE("sagaflowd config: the admin token comes from a file or SAGAFLOW_ADMIN_TOKEN") {
  auto token_file = write_file("sagaflowd-token", std::string(kToken) + "\n");
  auto from_file = load_config({"--admin-token-file", token_file.string()}, environment({}));
  CHECK(from_file.admin_token == kToken);  // the line end is not part of it

  auto from_env = load_config({}, environment({{"SAGAFLOW_ADMIN_TOKEN", "env-token-0123456789"}}));
  CHECK(from_env.admin_token == "env-token-0123456789");

  // The command line's file beats the environment, which beats the config file's file.
  auto conf = write_file("sagaflowd-token.conf",
                         "admin_token_file = /nonexistent/token\n");  // never read: overridden
  auto env_wins = load_config({"--config", conf.string()},
                              environment({{"SAGAFLOW_ADMIN_TOKEN", "env-token-0123456789"}}));
  CHECK(env_wins.admin_token == "env-token-0123456789");
  auto cli_wins =
      load_config({"--config", conf.string(), "--admin-token-file", token_file.string()},
                  environment({{"SAGAFLOW_ADMIN_TOKEN", "env-token-0123456789"}}));
  CHECK(cli_wins.admin_token == kToken);
  std::filesystem::remove(token_file);
  std::filesystem::remove(conf);
}

TEST_CASE("sagaflowd config: a non-loopback admin address needs a token") {
  CHECK(error_of({"--admin-listen", "0.0.0.0:7070"}).find("is not a loopback address") !=
        std::string::npos);
  CHECK(error_of({"--admin-listen", "[::]:7070"}).find("is not a loopback address") !=
        std::string::npos);
  auto c = load_config({"--admin-listen", "0.0.0.0:7070"},
                       environment({{"SAGAFLOW_ADMIN_TOKEN", kToken}}));
  CHECK(c.admin_address == "0.0.0.0");
}

TEST_CASE(
    "sagaflowd config: a token on the command line or in the config file is refused "
    "without echoing it") {
  const auto cli = error_of({"--admin-token", kToken});
  CHECK(cli.find("never given here") != std::string::npos);
  CHECK(cli.find(kToken) == std::string::npos);
  auto conf = write_file("sagaflowd-inline-token.conf", std::string("admin_token = ") + kToken);
  const auto file = error_of({"--config", conf.string()});
  CHECK(file == conf.string() +
                    ":1: the admin token is read from a file (admin_token_file) or "
                    "SAGAFLOW_ADMIN_TOKEN, never given here");
  std::filesystem::remove(conf);
}

TEST_CASE("sagaflowd config: a weak or unreadable admin token is refused without echoing it") {
  CHECK(error_of({"--admin-token-file", "/nonexistent/token"}) ==
        "admin_token_file /nonexistent/token: cannot be read");
  auto empty = write_file("sagaflowd-empty-token", "\n");
  CHECK(error_of({"--admin-token-file", empty.string()}) ==
        "admin_token_file " + empty.string() + ": the admin token is empty");
  std::filesystem::remove(empty);
  CHECK(error_of({}, {{"SAGAFLOW_ADMIN_TOKEN", "short"}}) ==
        "SAGAFLOW_ADMIN_TOKEN: the admin token needs 16 characters or more");
  const auto spaced = error_of({}, {{"SAGAFLOW_ADMIN_TOKEN", "has a space 0123456789"}});
  CHECK(spaced ==
        "SAGAFLOW_ADMIN_TOKEN: the admin token may only hold printable characters, no spaces");
}

TEST_CASE("sagaflowd config: PostgreSQL and several orchestrators, checked together") {
  auto c = load_config({"--partitions", "16", "--owner", "node-a"},
                       environment({{"SAGAFLOW_PG_DSN", "host=db user=s password=secret"},
                                    {"SAGAFLOW_PG_SCHEMA", "flows"},
                                    {"SAGAFLOW_AMQP_URL", "amqp://h/"},
                                    {"SAGAFLOW_LEASE_TTL_MS", "3000"}}));
  CHECK(c.pg_dsn == "host=db user=s password=secret");
  CHECK(c.pg_schema == "flows");
  CHECK(c.partitions == 16);
  CHECK(c.owner == "node-a");
  CHECK(c.lease_ttl_ms == 3000);
  // Partitions need both servers; a bad number says where it came from and never echoes more.
  CHECK(error_of({"--partitions", "4"}, {{"SAGAFLOW_AMQP_URL", "amqp://h/"}})
            .find("need PostgreSQL (pg_dsn) and RabbitMQ") != std::string::npos);
  CHECK(error_of({"--partitions", "many"}).find("--partitions: expected a whole number") == 0);
  CHECK(error_of({}, {{"SAGAFLOW_LEASE_TTL_MS", "10"}}).find("SAGAFLOW_LEASE_TTL_MS") == 0);
}

TEST_CASE("sagaflowd config: a recovery drill names its fault point and pass") {
  auto c = load_config({}, environment({{"SAGAFLOW_FAULT_AT", "after_commit:3"}}));
  CHECK(c.fault_point == "after_commit");
  CHECK(c.fault_hits == 3);
  CHECK(load_config({}, environment({{"SAGAFLOW_FAULT_AT", "mid_compensation"}})).fault_hits == 1);
  CHECK(error_of({}, {{"SAGAFLOW_FAULT_AT", "after_lunch"}}).find("SAGAFLOW_FAULT_AT") == 0);
  CHECK(error_of({}, {{"SAGAFLOW_FAULT_AT", "after_commit:0"}}).find("SAGAFLOW_FAULT_AT") == 0);
  // Never from the file or the command line: a drill is not a setting.
  CHECK(error_of({"--fault-at", "after_commit"}).find("unknown setting") != std::string::npos);
}

TEST_CASE("sagaflowd config: the log level comes from the file, the environment or the command") {
  CHECK(load_config({}, environment({})).log_level == sagaflow::log::Level::info);
  auto file = write_file("sagaflowd-log-level.conf", "log_level = error\n");
  CHECK(load_config({"--config", file.string()}, environment({})).log_level ==
        sagaflow::log::Level::error);
  CHECK(load_config({"--config", file.string()}, environment({{"SAGAFLOW_LOG_LEVEL", "warn"}}))
            .log_level == sagaflow::log::Level::warn);
  CHECK(load_config({"--config", file.string(), "--log-level", "debug"},
                    environment({{"SAGAFLOW_LOG_LEVEL", "warn"}}))
            .log_level == sagaflow::log::Level::debug);
  CHECK(error_of({"--log-level", "loud"}) ==
        "--log-level: expected debug, info, warn or error, found 'loud'");
  CHECK(error_of({}, {{"SAGAFLOW_LOG_LEVEL", "trace\x1b[2J"}}) ==
        "SAGAFLOW_LOG_LEVEL: expected debug, info, warn or error, found 'trace\\x1b[2J'");
  CHECK(sagaflowd::usage().find("--log-level") != std::string::npos);
  CHECK(sagaflowd::usage().find("SAGAFLOW_LOG_LEVEL") != std::string::npos);
}

TEST_CASE("sagaflowd config: the per-service limit on commands in flight") {
  CHECK(load_config({}, environment({})).max_in_flight_per_service == 256);
  CHECK(load_config({"--max-in-flight-per-service", "8"}, environment({}))
            .max_in_flight_per_service == 8);
  CHECK(load_config({}, environment({{"SAGAFLOW_MAX_IN_FLIGHT_PER_SERVICE", "0"}}))
            .max_in_flight_per_service == 0);
  CHECK(error_of({"--max-in-flight-per-service", "-1"}).find("--max-in-flight-per-service") == 0);
}
