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

TEST_CASE("sagaflowd config: SAGAFLOW_CONFIG names the file; --amqp and TLS options are read") {
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
