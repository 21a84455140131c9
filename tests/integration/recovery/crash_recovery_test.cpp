// Crash recovery of the production pair: sagaflowd on PostgreSQL and RabbitMQ, killed with
// SIGKILL at each named point of a round (SAGAFLOW_FAULT_AT), then started again. Every saga
// must finish as its input says, every start keeps its one saga (idempotency key), and the
// participants, separate processes that live through the crash, apply each effect at most once.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
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
#include "support/process.hpp"
#include "support/run_sagactl.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::Process;
using sagaflow::testing::run_sagactl;

namespace {

std::string broker_url() {
  const char* url = std::getenv("SAGAFLOW_TEST_AMQP_URL");
  if (url == nullptr || *url == '\0') FAIL("SAGAFLOW_TEST_AMQP_URL is not set: run tools/test");
  return url;
}

// A loopback port nobody listens on now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// sagaflowd, its participants (offers and points, for offer_purchase) and a schema of its own.
class Drill {
 public:
  explicit Drill(const std::string& name)
      : prefix_("t.crash-" + name + "-" + std::to_string(::getpid())),
        dir_(std::filesystem::temp_directory_path() / prefix_),
        url_("http://127.0.0.1:" + std::to_string(free_port())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    for (const char* service : {"offers", "points"}) {
      participants_.push_back(std::make_unique<Process>(
          std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflow-participant",
                                   service, "--amqp", broker_url(), "--amqp-prefix", prefix_,
                                   "--demo-data", "--report",
                                   (dir_ / (std::string(service) + ".json")).string()},
          std::map<std::string, std::string>{}, (dir_ / "participants.log").string()));
    }
  }
  ~Drill() {
    daemon_.reset();
    participants_.clear();
    std::filesystem::remove_all(dir_);
  }

  // Starts sagaflowd, armed with a fault point or not, and waits until its endpoint answers.
  void start_daemon(const std::string& fault = {}) {
    std::map<std::string, std::string> env{
        {"SAGAFLOW_PG_DSN", scratch_.dsn()},
        {"SAGAFLOW_PG_SCHEMA", scratch_.schema()},
        {"SAGAFLOW_AMQP_URL", broker_url()},
        {"SAGAFLOW_AMQP_PREFIX", prefix_},
        {"SAGAFLOW_FLOWS", std::string(SAGAFLOW_SOURCE_DIR) + "/definitions"},
        {"SAGAFLOW_ADMIN_LISTEN", url_.substr(7)},
        {"SAGAFLOW_FAULT_AT", fault}};
    daemon_.reset();
    daemon_ = std::make_unique<Process>(
        std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflowd"}, env,
        (dir_ / "sagaflowd.log").string());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (run_sagactl({"flows", "--url", url_}).status != 0) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "sagaflowd did not answer within 60 s; see " << (dir_ / "sagaflowd.log"));
      REQUIRE_MESSAGE(daemon_->wait_for_end(0s) == -1, "sagaflowd exited at start");
      std::this_thread::sleep_for(100ms);
    }
  }

  // Starts a saga through the endpoint; when the daemon dies under the request, waits for its
  // death, starts it again without the fault and asks again with the same key.
  void start_saga(const std::string& key, const sagaflow::json::object& input) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto run = run_sagactl({"start", "offer_purchase", "--key", key, "--input",
                              sagaflow::json::serialize(input), "--url", url_, "--json"});
      if (run.status == 0) return;
      if (daemon_->wait_for_end(30s) == SIGKILL) ++crashes_;
      start_daemon();
    }
    FAIL("saga " << key << " could not be started");
  }

  // Once the fault point is passed, the armed daemon kills itself; this restarts it.
  void restart_after_crash(std::chrono::seconds patience) {
    if (crashes_ > 0) return;  // it struck while sagas were being started
    const int signal = daemon_->wait_for_end(patience);
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
  std::string prefix_;
  std::filesystem::path dir_;
  std::string url_;
  std::vector<std::unique_ptr<Process>> participants_;
  std::unique_ptr<Process> daemon_;
  int crashes_ = 0;
};

// carol can afford every purchase; bob (100 points) none of the 400-point ones, so those
// compensate: the compensation rounds are where mid_compensation strikes.
void drill(const std::string& point) {
  Drill d(point);
  // The third pass, so that sagas are in flight when it strikes; compensations are fewer.
  d.start_daemon(point + (point == "mid_compensation" ? ":1" : ":3"));
  std::vector<std::string> keys;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 12; ++i) {
    const bool affordable = i % 3 != 2;
    const auto key = point + "-" + std::to_string(i);
    keys.push_back(key);
    expected[key] = affordable ? "completed" : "compensated";
    d.start_saga(
        key, affordable
                 ? sagaflow::json::object{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}
                 : sagaflow::json::object{{"user_id", "bob"}, {"offer_id", "spa"}, {"price", 400}});
  }
  d.restart_after_crash(10s);
  CHECK_MESSAGE(d.crashes() == 1, "the fault point " << point << " was not reached");

  auto sagas = d.final_sagas(keys, 90s);
  for (const auto& key : keys) {
    REQUIRE_MESSAGE(sagas.contains(key), "saga " << key << " did not finish");
    CHECK_MESSAGE(sagas[key].status == expected[key],
                  key << " ended " << sagas[key].status << d.story(sagas[key].id));
  }
  // 8 purchases: create and fulfil each (offers), reserve and debit each (points); 4 refused:
  // create and cancel (offers), nothing applied by points.
  auto applied = d.stop_participants();
  CHECK(applied["offers"].first == 8 * 2 + 4 * 2);
  CHECK(applied["points"].first == 8 * 2);
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
}

}  // namespace

TEST_CASE("sagaflowd killed before a commit: every saga finishes, each effect once") {
  drill("before_commit");
}
TEST_CASE("sagaflowd killed after a commit, before publishing: every saga finishes, each once") {
  drill("after_commit");
}
TEST_CASE("sagaflowd killed after publishing, before acking: every saga finishes, each once") {
  drill("after_publish");
}
TEST_CASE("sagaflowd killed in the middle of compensating: every saga finishes, each once") {
  drill("mid_compensation");
}
