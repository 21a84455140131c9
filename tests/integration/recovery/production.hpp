#pragma once
// The production pair for the recovery tests: sagaflowd processes on PostgreSQL (a schema of
// their own) and RabbitMQ (a topology prefix of their own), with participant processes (offers
// and points, for offer_purchase) that live through whatever happens to the daemons and report,
// when stopped, what they applied.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../postgres/pg.hpp"
#include "sagaflow/engine/engine.hpp"
#include "sagaflow/json.hpp"
#include "support/free_port.hpp"
#include "support/process.hpp"
#include "support/run_sagactl.hpp"

namespace sagaflow::testing::recovery {

using namespace std::chrono_literals;

inline std::string broker_url() {
  const char* url = std::getenv("SAGAFLOW_TEST_AMQP_URL");
  if (url == nullptr || *url == '\0') FAIL("SAGAFLOW_TEST_AMQP_URL is not set: run tools/test");
  return url;
}

// sagaflowd, its participants (offers and points, for offer_purchase) and a schema of its own,
// on the shared test servers unless a broker URL or a PostgreSQL DSN of the test's own is given.
class Deployment {
 public:
  // `queue_type`: quorum or classic, for the daemons and the participants alike.
  explicit Deployment(const std::string& name, int daemons = 1, std::string broker = {},
                      std::string dsn = {}, std::string queue_type = "quorum")
      : scratch_(dsn.empty() ? sagaflow::postgres::testing::test_dsn() : dsn),
        broker_(broker.empty() ? broker_url() : broker),
        prefix_("t.crash-" + name + "-" + std::to_string(::getpid())),
        dir_(std::filesystem::temp_directory_path() / prefix_),
        daemons_(daemons),
        queue_type_(std::move(queue_type)) {
    for (int i = 0; i < daemons; ++i)
      urls_.push_back("http://127.0.0.1:" + std::to_string(free_port()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (const char* service : {"offers", "points"}) {
      participants_.push_back(std::make_unique<Process>(
          std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflow-participant",
                                   service, "--amqp", broker_, "--amqp-prefix", prefix_,
                                   "--amqp-queue-type", queue_type_, "--demo-data", "--report",
                                   (dir_ / (std::string(service) + ".json")).string()},
          std::map<std::string, std::string>{}, (dir_ / "participants.log").string()));
    }
  }
  ~Deployment() {
    for (auto& d : daemons_) d.reset();
    participants_.clear();
    std::filesystem::remove_all(dir_);
  }

  // Starts sagaflowd number `index`, armed with a fault point or not, with the extra settings,
  // and waits until it serves (its endpoint lists the flows).
  void start_daemon(const std::string& fault = {}, int index = 0,
                    const std::map<std::string, std::string>& extra = {}) {
    launch_daemon(fault, index, extra);
    wait_until_serving(index, 60s);
  }

  // Starts sagaflowd number `index` without waiting for anything.
  void launch_daemon(const std::string& fault = {}, int index = 0,
                     const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> env{
        {"SAGAFLOW_PG_DSN", scratch_.dsn()},
        {"SAGAFLOW_PG_SCHEMA", scratch_.schema()},
        {"SAGAFLOW_AMQP_URL", broker_},
        {"SAGAFLOW_AMQP_PREFIX", prefix_},
        {"SAGAFLOW_AMQP_QUEUE_TYPE", queue_type_},
        {"SAGAFLOW_FLOWS", std::string(SAGAFLOW_SOURCE_DIR) + "/definitions"},
        {"SAGAFLOW_ADMIN_LISTEN", urls_.at(index).substr(7)},
        {"SAGAFLOW_FAULT_AT", fault}};
    for (const auto& [name, value] : extra) env[name] = value;
    auto& daemon = daemons_.at(index);
    daemon.reset();
    daemon = std::make_unique<Process>(
        std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflowd"}, env,
        log_path(index).string());
  }

  // Waits until sagaflowd number `index` serves: its endpoint lists the flows.
  void wait_until_serving(int index, std::chrono::seconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (run_sagactl({"flows", "--url", urls_.at(index)}).status != 0) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "sagaflowd did not serve within " << patience.count() << " s; see " << dir_);
      REQUIRE_MESSAGE(daemons_.at(index)->wait_for_end(0s) == -1,
                      "sagaflowd exited at start; see " << dir_);
      std::this_thread::sleep_for(100ms);
    }
  }

  const std::string& url(int index) const { return urls_.at(index); }
  const std::string& broker() const { return broker_; }
  const std::string& prefix() const { return prefix_; }
  const std::filesystem::path& dir() const { return dir_; }
  Process& daemon(int index) { return *daemons_.at(index); }
  std::filesystem::path log_path(int index) const {
    return dir_ / ("sagaflowd-" + std::to_string(index) + ".log");
  }
  // What sagaflowd number `index` logged so far, one JSON object per line.
  std::vector<sagaflow::json::object> log_lines(int index) const {
    std::vector<sagaflow::json::object> lines;
    std::ifstream in(log_path(index));
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto value = sagaflow::json::parse(line, ec);
      if (!ec && value.is_object()) lines.push_back(value.as_object());
    }
    return lines;
  }
  // How many lines sagaflowd number `index` logged with this message.
  int count_logged(int index, std::string_view msg) const {
    int n = 0;
    for (const auto& line : log_lines(index)) {
      if (const auto* m = line.if_contains("msg");
          m != nullptr && m->is_string() && std::string_view(m->as_string()) == msg) {
        ++n;
      }
    }
    return n;
  }

  void kill_daemon(int index) { daemons_.at(index)->stop(SIGKILL); }

  // Starts a saga through daemon `index`'s endpoint, true when it was accepted.
  bool try_start(int index, const std::string& flow, const std::string& key,
                 const sagaflow::json::object& input) {
    return run_sagactl({"start", flow, "--key", key, "--input", sagaflow::json::serialize(input),
                        "--url", urls_.at(index), "--json"})
               .status == 0;
  }

  // The leases held now, by owner (the partition_leases table, on the database's clock).
  std::map<std::string, int> leases_by_owner() {
    std::map<std::string, int> out;
    auto session = scratch_.session();
    for (const auto& row : session.query(
             "SELECT owner, count(*) FROM partition_leases WHERE owner <> '' AND expires_at > "
             "(extract(epoch FROM clock_timestamp()) * 1000)::bigint GROUP BY owner")) {
      out[*row.at(0)] = std::stoi(*row.at(1));
    }
    return out;
  }

  // Starts `count` offer purchases keyed PREFIX-i through sagaflowd 0: two of every three
  // affordable (they complete), the third too dear (compensated). Returns each key's expected
  // end.
  std::map<std::string, std::string> start_purchases(const std::string& prefix, int count) {
    std::map<std::string, std::string> expected;
    for (int i = 0; i < count; ++i) {
      const bool affordable = i % 3 != 2;
      const auto key = prefix + "-" + std::to_string(i);
      expected[key] = affordable ? "completed" : "compensated";
      REQUIRE(try_start(
          0, "offer_purchase", key,
          affordable
              ? sagaflow::json::object{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}
              : sagaflow::json::object{{"user_id", "bob"}, {"offer_id", "spa"}, {"price", 400}}));
    }
    return expected;
  }

  // Every saga ends as expected within `patience`, and none had an attempt time out.
  void check_ends(const std::map<std::string, std::string>& expected,
                  std::chrono::seconds patience) {
    std::vector<std::string> keys;
    for (const auto& entry : expected) keys.push_back(entry.first);
    auto sagas = final_sagas(keys, patience);
    for (const auto& [key, end] : expected) {
      REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
      const auto told = story(sagas[key].id);
      CHECK_MESSAGE(sagas[key].status == end, key << " ended " << sagas[key].status << told);
      CHECK_MESSAGE(told.find("step_timed_out") == std::string::npos,
                    key << " had an attempt time out:" << told);
    }
  }

  // The leases held now (not expired, on the database's clock): partition -> (owner, epoch).
  std::map<int, std::pair<std::string, std::uint64_t>> live_leases() {
    std::map<int, std::pair<std::string, std::uint64_t>> out;
    auto session = scratch_.session();
    for (const auto& row :
         session.query("SELECT partition, owner, epoch FROM partition_leases WHERE owner <> '' AND "
                       "expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::bigint")) {
      out[std::stoi(*row.at(0))] = {*row.at(1), std::stoull(*row.at(2))};
    }
    return out;
  }

  // Starts a saga through the endpoint; when the daemon dies under the request, waits for its
  // death, starts it again without the fault and asks again with the same key.
  void start_saga(const std::string& key, const sagaflow::json::object& input) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (try_start(0, "offer_purchase", key, input)) return;
      if (daemons_.at(0)->wait_for_end(30s) == SIGKILL) ++crashes_;
      start_daemon();
    }
    FAIL("saga " << key << " could not be started");
  }

  // Once the fault point is passed, the armed daemon kills itself; this restarts it.
  void restart_after_crash(std::chrono::seconds patience) {
    if (crashes_ > 0) return;  // it struck while sagas were being started
    const int signal = daemons_.at(0)->wait_for_end(patience);
    if (signal == SIGKILL) ++crashes_;
    if (signal != -1) start_daemon();
  }

  // The saga each key started; every one must be final within `patience`.
  std::map<std::string, sagaflow::SagaRow> final_sagas(const std::vector<std::string>& keys,
                                                       std::chrono::seconds patience) {
    sagaflow::postgres::PostgresStore store(scratch_.options("crash-test-probe"));
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::map<std::string, sagaflow::SagaRow> out;
    while (std::chrono::steady_clock::now() < deadline) {
      out.clear();
      for (const auto& key : keys) {
        auto id = store.find_by_idempotency_key("offer_purchase", key);
        if (!id) continue;
        auto row = store.load(*id);
        if (row && (row->status == "completed" || row->status == "compensated" ||
                    row->status == "failed" || row->status == "cancelled")) {
          out[key] = *row;
        }
      }
      if (out.size() == keys.size()) break;
      std::this_thread::sleep_for(100ms);
    }
    return out;
  }

  std::string story(const std::string& saga_id) {
    sagaflow::postgres::PostgresStore store(scratch_.options("crash-test-probe"));
    std::string out;
    for (const auto& h : store.history(saga_id)) out += "\n  " + h.kind + " " + h.step;
    return out;
  }

  // Stops the participants and reads their reports: {service: {applied, repeated}}.
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> stop_participants() {
    participants_.clear();
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
    for (const char* service : {"offers", "points"}) {
      std::ifstream file(dir_ / (std::string(service) + ".json"));
      std::stringstream text;
      text << file.rdbuf();
      const sagaflow::json::value report = sagaflow::json::parse(text.str());
      const auto& counts = report.at(service);
      out[service] = {counts.at("applied").as_int64(), counts.at("repeated").as_int64()};
    }
    return out;
  }

  int crashes() const { return crashes_; }

 private:
  sagaflow::postgres::testing::Scratch scratch_;
  std::string broker_;
  std::string prefix_;
  std::filesystem::path dir_;
  std::vector<std::string> urls_;
  std::vector<std::unique_ptr<Process>> participants_;
  std::vector<std::unique_ptr<Process>> daemons_;
  std::string queue_type_;
  int crashes_ = 0;
};

}  // namespace sagaflow::testing::recovery
