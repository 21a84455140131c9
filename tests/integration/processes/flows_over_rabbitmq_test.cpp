// Every flow over a real RabbitMQ, each participant its own `sagaflow-participant` process
// seeded with the demo data, the orchestrator in this process. Outside events (All_SalesOrder,
// All_Payments, payment results) are published to the broker as their systems would. Two flows
// also run with their services in the other languages' workers: points_charge on clients/python
// (SQLite inboxes), offer_purchase on clients/node (PostgreSQL inboxes).
#include <doctest/doctest.h>

#include <cstdio>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "../rabbitmq/broker.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "support/own_broker.hpp"
#include "support/process.hpp"
#include "support/python.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using json::object;
using sagaflow::testing::output_of;
using sagaflow::testing::OwnBroker;
using sagaflow::testing::Process;

namespace {

// What one participant process applied (its --report file, written when it stops, or its state
// file's report, read while it runs).
struct Applied {
  std::int64_t applied = 0;
  std::int64_t repeated = 0;  // idempotency keys applied more than once: must stay 0
};

// Which participants the deployment starts as sagaflow-participant processes.
enum class CppParticipants { all, none };

// The orchestrator over the broker, with every participant as a process.
class Deployment {
 public:
  explicit Deployment(const std::string& name, std::string url = rabbitmq::testing::broker_url(),
                      CppParticipants cpp = CppParticipants::all,
                      rabbitmq::QueueType queue_type = rabbitmq::QueueType::quorum)
      : topology_(with_queue_type(rabbitmq::testing::topology(name), queue_type)),
        url_(std::move(url)),
        reports_(std::filesystem::temp_directory_path() /
                 ("sagaflow-reports-" + name + "-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(reports_);
    std::filesystem::create_directories(reports_);
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions")) {
      if (entry.path().extension() != ".yaml") continue;  // definitions/tests/: case files
      auto loaded = flow::load_flow_file(entry.path());
      REQUIRE(loaded.ok());
      flows_.add(loaded.flow);
    }
    auto connection = rabbitmq::ConnectionSettings::from_url(url_);
    connection.reconnect_min = 50ms;
    connection.reconnect_max = 1000ms;
    rabbitmq::OrchestratorSettings settings{.connection = connection, .topology = topology_};
    for (const auto& plan : flows_.all()) {
      for (const auto& s : plan->services()) add_once(settings.services, s);
      for (const auto& e : plan->listened_events()) add_once(settings.event_types, e);
    }
    transport_ = std::make_unique<rabbitmq::OrchestratorTransport>(settings);
    transport_->wait_connected(20s);
    services_ = settings.services;
    OrchestratorOptions options;
    options.engine.reply_to = topology_.reply_queue();
    orchestrator_ = std::make_unique<Orchestrator>(flows_, store_, *transport_, clock_, options);
    // The SMS gateway reads CVCs from the certificates service in memory: one process for both.
    for (const auto& service : settings.services) {
      if (service == "sms" || cpp == CppParticipants::none) continue;
      start_participant(service == "certificates" ? std::vector<std::string>{"certificates", "sms"}
                                                  : std::vector<std::string>{service});
    }
    runner_ = std::jthread([this](std::stop_token stop) { orchestrator_->run(stop); });
  }

  ~Deployment() {
    runner_.request_stop();
    runner_.join();
    participants_.clear();
    std::filesystem::remove_all(reports_);
  }

  void start_participant(const std::vector<std::string>& services) {
    std::vector<std::string> argv{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflow-participant"};
    argv.insert(argv.end(), services.begin(), services.end());
    for (const auto& a :
         {std::string("--amqp"), url_, std::string("--amqp-prefix"), topology_.prefix,
          std::string("--amqp-queue-type"),
          std::string(topology_.queue_type == rabbitmq::QueueType::classic ? "classic" : "quorum"),
          std::string("--demo-data"), std::string("--report"),
          (reports_ / (services.front() + ".json")).string(), std::string("--state"),
          state_file(services.front())}) {
      argv.push_back(a);
    }
    participants_[services.front()] = std::make_unique<Process>(std::move(argv));
  }
  // Each participant process keeps its state in a file of its own, which a restart continues.
  std::string state_file(const std::string& service) const {
    return (reports_ / (service + ".db")).string();
  }
  // What the state file says `service` applied, read while its participant may be running.
  Applied report_now(const std::string& service) const {
    const std::string command = std::string(SAGAFLOW_BINARY_DIR) +
                                "/apps/sagaflow-participant --print-report --demo-data --state " +
                                state_file(service) + " " + service;
    const json::value counts = json::parse(output_of(command)).at(service);
    return {counts.at("applied").as_int64(), counts.at("repeated").as_int64()};
  }
  void kill_participant(const std::string& service) {
    participants_.at(service)->stop(SIGKILL);
    participants_.erase(service);
  }

  // Stops every participant (each writes its report as it exits) and reads what each service
  // applied.
  std::map<std::string, Applied> stop_participants() {
    participants_.clear();
    std::map<std::string, Applied> out;
    for (const auto& entry : std::filesystem::directory_iterator(reports_)) {
      if (entry.path().extension() != ".json") continue;  // the state files
      std::ifstream file(entry.path());
      std::stringstream text;
      text << file.rdbuf();
      const json::value report = json::parse(text.str());
      for (const auto& [service, counts] : report.as_object()) {
        out[service] = {counts.at("applied").as_int64(), counts.at("repeated").as_int64()};
      }
    }
    return out;
  }

  const std::string& url() const { return url_; }
  const std::string& prefix() const { return topology_.prefix; }
  // A folder of the deployment's own, removed with it.
  const std::filesystem::path& folder() const { return reports_; }

  std::string start(const std::string& flow, json::value input) {
    return orchestrator_->start(StartRequest{.flow = flow, .input = std::move(input)})
        .get()
        .saga_id;
  }

  void publish(const std::string& type, json::value payload, const std::string& id) {
    Message m;
    m.kind = MessageKind::event;
    m.id = id;
    m.type = type;
    m.body = json::serialize(payload);
    transport_->publish(std::span<const Message>(&m, 1));
  }

  // The saga's status once it is one of `wanted`, or whatever it is after `patience`.
  std::string wait_for(const std::string& id, std::initializer_list<const char*> wanted,
                       std::chrono::seconds patience = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    std::string status;
    while (std::chrono::steady_clock::now() < deadline) {
      auto row = store_.load(id);
      status = row ? row->status : "missing";
      for (const char* w : wanted) {
        if (status == w) return status;
      }
      std::this_thread::sleep_for(10ms);
    }
    return status;
  }
  std::string final_status(const std::string& id, std::chrono::seconds patience = 30s) {
    return wait_for(id, {"completed", "compensated", "cancelled", "failed"}, patience);
  }
  json::value result(const std::string& id, std::string_view step) {
    auto row = store_.load(id);
    return row ? step_result(*row, step) : json::value(nullptr);
  }
  // What the saga did, for a failing check's message.
  std::string story(const std::string& id) {
    std::string out;
    for (const auto& h : store_.history(id)) out += "\n  " + h.kind + " " + h.step + " " + h.detail;
    return out;
  }
  std::string started_by(const std::string& flow, const std::string& key) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto id = store_.find_by_idempotency_key(flow, key)) return *id;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("no " << flow << " saga was started for " << key);
    return {};
  }

 private:
  static rabbitmq::Topology with_queue_type(rabbitmq::Topology t, rabbitmq::QueueType type) {
    t.queue_type = type;
    return t;
  }
  static void add_once(std::vector<std::string>& list, const std::string& value) {
    if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
  }

  rabbitmq::Topology topology_;
  std::string url_;
  std::filesystem::path reports_;
  std::vector<std::string> services_;
  FlowRegistry flows_;
  sagaflow::testing::MemoryStore store_;
  SystemClock clock_;
  std::unique_ptr<rabbitmq::OrchestratorTransport> transport_;
  std::unique_ptr<Orchestrator> orchestrator_;
  std::map<std::string, std::unique_ptr<Process>> participants_;
  std::jthread runner_;
};

// A worker in another language, as a child process that writes `ready` once each of its
// services consumes; its stdout and stderr go to `log`, shown when it fails to start.
class ForeignWorker {
 public:
  ForeignWorker(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                const std::filesystem::path& ready, const std::filesystem::path& log)
      : log_(log), process_(std::move(argv), env, log.string()) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline) {
      if (process_.wait_for_end(0s) >= 0) break;  // it exited: no use waiting
      std::this_thread::sleep_for(20ms);
    }
    REQUIRE_MESSAGE(std::filesystem::exists(ready), "the worker did not start:\n" << this->log());
  }
  // SIGTERM: it stops consuming and exits by itself; its tables stay for the report.
  void stop() {
    process_.signal(SIGTERM);
    const bool exited = process_.wait_for_end(10s) >= 0;
    if (!exited) process_.stop(SIGKILL);
    CHECK_MESSAGE(exited, "the worker did not exit on SIGTERM:\n" << log());
  }
  std::string log() const {
    std::ifstream file(log_);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  std::filesystem::path log_;
  Process process_;
};

// A row of a report's table whose `key` column is `value`.
const json::object& row(const json::value& table, const char* key, std::string_view value) {
  for (const auto& r : table.as_array()) {
    if (r.at(key).as_string() == value) return r.as_object();
  }
  FAIL("no row with " << key << " = " << value << " in " << table);
  throw std::logic_error("unreachable");
}

object certificate_line(const char* line, const char* code, std::int64_t denomination) {
  return object{{"orderLineId", line},
                {"code", code},
                {"plannedDenomination", denomination},
                {"intendedRecipient", object{{"name", "Anna"}, {"phone", "+79161234567"}}}};
}

object all_payments(const char* order, int version, std::int64_t captured, std::int64_t outstanding,
                    json::array allocations) {
  return object{{"orderId", order},
                {"paymentVersion", version},
                {"capturedAmount", captured},
                {"outstandingAmount", outstanding},
                {"isOrderSettled", outstanding == 0},
                {"certificateAllocations", std::move(allocations)}};
}

}  // namespace

TEST_CASE("over RabbitMQ, every flow reaches the end its scenario expects") {
  Deployment d("nine-flows");
  std::vector<std::pair<std::string, std::string>> expected;  // saga id, final status
  auto run = [&](const std::string& flow, json::value input, const char* status) {
    expected.emplace_back(d.start(flow, std::move(input)), status);
  };
  run("offer_purchase", object{{"user_id", "alice"}, {"offer_id", "spa"}, {"price", 400}},
      "completed");
  run("offer_purchase", object{{"user_id", "bob"}, {"offer_id", "spa"}, {"price", 400}},
      "compensated");
  run("user_registration",
      object{{"user_id", "u-jan"}, {"username", "jan"}, {"email", "jan@example.test"}},
      "completed");
  run("user_registration",
      object{{"user_id", "u-kim"}, {"username", "kim"}, {"email", "kim@example.test"}},
      "compensated");
  run("order_payment",
      object{{"user_id", "u-mia"},
             {"product_id", "lamp"},
             {"quantity", 2},
             {"price", 500},
             {"coupon", "WELCOME10"}},
      "completed");
  run("order_payment",
      object{{"user_id", "u-poor"}, {"product_id", "lamp"}, {"quantity", 1}, {"price", 500}},
      "compensated");
  run("coupon_issue",
      object{{"coupon_id", "SUMMER"},
             {"discount", 200},
             {"user_ids", json::array{"u-ann", "u-ben", "u-cat"}}},
      "completed");
  run("points_charge", object{{"user_id", "vic"}, {"amount", 2500}, {"method", "card-vic"}},
      "completed");
  run("points_charge", object{{"user_id", "xia"}, {"amount", 2500}, {"method", "card-xia"}},
      "compensated");
  run("booking_payment", object{{"customer_id", "eve"}, {"slot_id", "sat-10"}, {"amount", 1500}},
      "compensated");

  // A paid order, then its cancellation.
  auto paid = d.start(
      "order_payment",
      object{{"user_id", "u-tom"}, {"product_id", "lamp"}, {"quantity", 3}, {"price", 500}});
  REQUIRE(d.final_status(paid) == "completed");
  run("order_cancellation", object{{"order_id", d.result(paid, "create_order").at("order_id")}},
      "completed");

  // booking_payment: the payments service publishes payment.succeeded after the webhook.
  auto booking = d.start("booking_payment",
                         object{{"customer_id", "dan"}, {"slot_id", "mon-10"}, {"amount", 1500}});
  REQUIRE(d.wait_for(booking, {"waiting"}) == "waiting");
  auto payment = d.result(booking, "create_payment").at("payment_id");
  d.publish("payment.succeeded", object{{"payment_id", payment}, {"amount", 1500}},
            "payment.succeeded/" + std::string(payment.as_string()));
  expected.emplace_back(booking, "completed");

  // certificate_activation: started by All_SalesOrder, settled by two All_Payments events, one
  // of them published twice.
  d.publish("All_SalesOrder",
            object{{"orderId", "so-1"},
                   {"certificateLines", json::array{certificate_line("l1", "GC-101", 3000),
                                                    certificate_line("l2", "GC-102", 2000)}}},
            "sales-order/so-1");
  auto activation = d.started_by("certificate_activation", "so-1");
  REQUIRE(d.wait_for(activation, {"waiting"}) == "waiting");
  auto first = all_payments("so-1", 1, 3000, 2000,
                            json::array{object{{"orderLineId", "l1"}, {"collectedAmount", 3000}}});
  d.publish("All_Payments", first, "pay-so-1/1");
  d.publish("All_Payments", first, "pay-so-1/1");
  d.publish("All_Payments",
            all_payments("so-1", 2, 5000, 0,
                         json::array{object{{"orderLineId", "l1"}, {"collectedAmount", 3000}},
                                     object{{"orderLineId", "l2"}, {"collectedAmount", 2000}}}),
            "pay-so-1/2");
  expected.emplace_back(activation, "completed");

  // certificate_redemption: payments confirms, or fails.
  auto redeem = [&](const char* code, const char* payment_id, const char* event) {
    auto id = d.start(
        "certificate_redemption",
        object{{"code", code}, {"amount", 700}, {"payment_id", payment_id}, {"order_id", "o-900"}});
    REQUIRE(d.wait_for(id, {"waiting"}) == "waiting");
    d.publish(event, object{{"payment_id", payment_id}}, std::string(event) + "/" + payment_id);
    return id;
  };
  expected.emplace_back(redeem("GC-501", "pay-501", "payment.confirmed"), "completed");
  expected.emplace_back(redeem("GC-503", "pay-503", "payment.failed"), "compensated");

  for (const auto& [id, status] : expected) {
    CHECK_MESSAGE(d.final_status(id) == status, "saga " << id << d.story(id));
  }
}

TEST_CASE("over RabbitMQ, a participant killed mid-step finishes the saga once it is back") {
  Deployment d("killed-participant");
  d.kill_participant("offers");  // create_order waits in its queue
  auto id =
      d.start("offer_purchase", object{{"user_id", "alice"}, {"offer_id", "spa"}, {"price", 400}});
  std::this_thread::sleep_for(300ms);
  CHECK(d.wait_for(id, {"running"}) == "running");
  d.start_participant({"offers"});
  CHECK(d.final_status(id) == "completed");
}

TEST_CASE("over RabbitMQ, a broker restart mid-run loses no saga and applies no effect twice") {
  OwnBroker broker(5);
  Deployment d("broker-restart", broker.url());
  std::vector<std::string> sagas;
  std::jthread restart;
  for (int i = 0; i < 30; ++i) {
    if (i == 10) {
      // Stopped while sagas are started and run: commands sit in queues, replies are on their
      // way, publishes fail and stay in the outbox until it is back.
      restart = std::jthread([&broker] {
        broker.stop();
        broker.start();
      });
    }
    sagas.push_back(d.start("offer_purchase",
                            object{{"user_id", "carol"}, {"offer_id", "spa"}, {"price", 10}}));
    if (i < 15) {
      sagas.push_back(d.start(
          "order_payment",
          object{{"user_id", "u-mia"}, {"product_id", "lamp"}, {"quantity", 1}, {"price", 10}}));
    }
    std::this_thread::sleep_for(100ms);  // spread over the restart
  }
  restart.join();
  for (const auto& id : sagas) {
    CHECK_MESSAGE(d.final_status(id, 120s) == "completed", "saga " << id << d.story(id));
  }
  auto applied = d.stop_participants();
  CHECK(applied.at("points").applied == 60);  // reserve and debit, once per purchase
  CHECK(applied.at("offers").applied == 60);  // create and fulfil
  CHECK(applied.at("billing").applied == 15);
  for (const auto& [service, counts] : applied) {
    CHECK_MESSAGE(counts.repeated == 0,
                  service << " applied " << counts.repeated << " commands twice");
  }
}

namespace {

void kill_under_load(const std::string& name, rabbitmq::QueueType queue_type) {
  Deployment d(name, rabbitmq::testing::broker_url(), CppParticipants::all, queue_type);
  std::vector<std::string> sagas;
  for (int i = 0; i < 20; ++i) {
    if (i == 5) d.kill_participant("billing");  // SIGKILL: unacked charges go back to its queue
    if (i == 12) d.start_participant({"billing"});
    sagas.push_back(d.start(
        "order_payment",
        object{{"user_id", "u-ned"}, {"product_id", "lamp"}, {"quantity", 1}, {"price", 10}}));
  }
  for (const auto& id : sagas) {
    CHECK_MESSAGE(d.final_status(id, 60s) == "completed", "saga " << id << d.story(id));
  }
  // The killed process kept its state, ledger and deduplication in its state file: the one that
  // came back continued from it, so every saga was charged exactly once across the kill, also
  // those whose charge was committed but not acknowledged when it died (redelivered, answered
  // from the inbox). The file says so while the participant still runs, and at its exit.
  const Applied live = d.report_now("billing");
  CHECK(live.applied == 20);
  CHECK(live.repeated == 0);
  auto applied = d.stop_participants();
  CHECK(applied.at("billing").applied == 20);
  for (const auto& [service, counts] : applied) {
    CHECK_MESSAGE(counts.repeated == 0,
                  service << " applied " << counts.repeated << " commands twice");
  }
}

}  // namespace

TEST_CASE("over RabbitMQ, a participant killed with sagas in flight finishes them once back up") {
  kill_under_load("killed-under-load", rabbitmq::QueueType::quorum);
}

// Classic queues count no deliveries: the adapter counts each return on the message. The kill
// returns every unacknowledged charge once, well under the limit: none is dead-lettered.
TEST_CASE("on classic queues, a participant killed with sagas in flight finishes them once back") {
  kill_under_load("killed-under-load-classic", rabbitmq::QueueType::classic);
}

TEST_CASE("over RabbitMQ, points_charge runs on Python workers of clients/python") {
  Deployment d("python-points-charge", rabbitmq::testing::broker_url(), CppParticipants::none);
  const auto dir = d.folder() / "python";
  std::filesystem::create_directories(dir);
  const std::string script =
      std::string(SAGAFLOW_SOURCE_DIR) + "/tests/integration/processes/points_charge_worker.py";
  const std::string package = std::string(SAGAFLOW_SOURCE_DIR) + "/clients/python";
  ForeignWorker worker({sagaflow::testing::python(), script, "--amqp", d.url(), "--prefix",
                        d.prefix(), "--dir", dir.string(), "--ready", (dir / "ready").string()},
                       {{"PYTHONPATH", package}}, dir / "ready", dir / "worker.log");

  // vic's card pays and vic gets the points; wes's card is declined (nothing to undo); xia's
  // account is frozen, so xia's charge is refunded.
  auto charge = [&](const char* user) {
    return d.start(
        "points_charge",
        object{{"user_id", user}, {"amount", 2500}, {"method", "card-" + std::string(user)}});
  };
  const auto vic = charge("vic"), wes = charge("wes"), xia = charge("xia");
  CHECK_MESSAGE(d.final_status(vic) == "completed", d.story(vic) << worker.log());
  CHECK_MESSAGE(d.final_status(wes) == "compensated", d.story(wes) << worker.log());
  CHECK_MESSAGE(d.final_status(xia) == "compensated", d.story(xia) << worker.log());
  CHECK(d.result(vic, "add_points").at("balance") == 2500);
  worker.stop();

  // The workers' own tables: money where the sagas' ends put it, each effect applied once.
  const auto report =
      json::parse(output_of("PYTHONPATH='" + package + "' " + sagaflow::testing::python() + " " +
                            script + " --report --dir " + dir.string()));
  const auto& gateway = report.at("payment_gateway");
  CHECK(row(gateway.at("methods"), "method", "card-vic").at("funds") == 7500);
  CHECK(row(gateway.at("methods"), "method", "card-wes").at("funds") == 10000);
  CHECK(row(gateway.at("methods"), "method", "card-xia").at("funds") == 10000);
  CHECK(gateway.at("payments").as_array().size() == 2);
  CHECK(row(gateway.at("payments"), "reference", vic).at("status") == "captured");
  CHECK(row(gateway.at("payments"), "reference", xia).at("status") == "refunded");
  CHECK(gateway.at("applied") == 3);  // charge vic, charge xia, refund xia
  CHECK(gateway.at("repeated") == 0);
  const auto& points = report.at("points");
  CHECK(row(points.at("accounts"), "user_id", "vic").at("balance") == 2500);
  CHECK(row(points.at("accounts"), "user_id", "xia").at("balance") == 0);
  CHECK(points.at("applied") == 1);  // add vic
  CHECK(points.at("repeated") == 0);
}

TEST_CASE("over RabbitMQ, offer_purchase runs on Node.js workers of clients/node") {
  const std::string source = SAGAFLOW_SOURCE_DIR;
  auto node_modules = output_of(source + "/tests/integration/processes/node_app.sh '" +
                                std::string(SAGAFLOW_BINARY_DIR) + "' '" + source + "'");
  node_modules.erase(node_modules.find_last_not_of('\n') + 1);
  const char* dsn = std::getenv("SAGAFLOW_TEST_PG_DSN");
  REQUIRE_MESSAGE(dsn != nullptr, "SAGAFLOW_TEST_PG_DSN is not set: run tools/test-pg start");
  Deployment d("node-offer-purchase", rabbitmq::testing::broker_url(), CppParticipants::none);
  const std::string script = source + "/tests/integration/processes/offer_purchase_worker.js";
  const std::string schema = "processes_node_" + std::to_string(::getpid());
  ForeignWorker worker({"/usr/bin/env", "node", script, "serve", d.url(), d.prefix(), schema,
                        (d.folder() / "node-ready").string()},
                       {{"NODE_PATH", node_modules}}, d.folder() / "node-ready",
                       d.folder() / "node.log");

  // alice buys the spa; bob cannot afford it (his order is cancelled); the concert sells out
  // after carol's debit (refunded, her order cancelled).
  auto buy = [&](const char* user, const char* offer, std::int64_t price) {
    return d.start("offer_purchase",
                   object{{"user_id", user}, {"offer_id", offer}, {"price", price}});
  };
  const auto alice = buy("alice", "spa", 400), bob = buy("bob", "spa", 400),
             carol = buy("carol", "concert", 300);
  CHECK_MESSAGE(d.final_status(alice) == "completed", d.story(alice) << worker.log());
  CHECK_MESSAGE(d.final_status(bob) == "compensated", d.story(bob) << worker.log());
  CHECK_MESSAGE(d.final_status(carol) == "compensated", d.story(carol) << worker.log());
  worker.stop();

  // The workers' own tables (the report drops their schemas): each effect applied once.
  const auto report = json::parse(
      output_of("NODE_PATH='" + node_modules + "' node " + script + " report " + schema));
  const auto& offers = report.at("offers");
  CHECK(row(offers.at("orders"), "reference", alice).at("status") == "bought");
  CHECK(row(offers.at("orders"), "reference", bob).at("status") == "cancelled");
  CHECK(row(offers.at("orders"), "reference", carol).at("status") == "cancelled");
  CHECK(offers.at("applied") == 6);  // three orders, alice's fulfilled, two cancelled
  CHECK(offers.at("repeated") == 0);
  const auto& points = report.at("points");
  const auto& account = [&](const char* user) -> const json::object& {
    return row(points.at("accounts"), "user_id", user);
  };
  CHECK(account("alice").at("balance") == 600);
  CHECK(account("alice").at("spent") == 400);
  CHECK(account("bob").at("balance") == 100);
  CHECK(account("carol").at("balance") == 1000);
  CHECK(account("carol").at("refunded") == 300);
  CHECK(points.at("reservations").as_array().size() == 2);
  CHECK(points.at("applied") == 5);  // alice reserve, debit; carol reserve, debit, refund
  CHECK(points.at("repeated") == 0);
}
