// Every flow over a real RabbitMQ, each participant its own `sagaflow-participant` process
// seeded with the demo data, the orchestrator in this process. Outside events (All_SalesOrder,
// All_Payments, payment results) are published to the broker as their systems would.
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

using namespace sagaflow;
using namespace std::chrono_literals;
using json::object;
using sagaflow::testing::OwnBroker;
using sagaflow::testing::Process;

namespace {

// What one participant process applied (its --report file, written when it stops, or its state
// file's report, read while it runs).
struct Applied {
  std::int64_t applied = 0;
  std::int64_t repeated = 0;  // idempotency keys applied more than once: must stay 0
};

// The orchestrator over the broker, with every participant as a process.
class Deployment {
 public:
  explicit Deployment(const std::string& name, std::string url = rabbitmq::testing::broker_url())
      : topology_(rabbitmq::testing::topology(name)),
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
      if (service == "sms") continue;
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
    for (const auto& a : {std::string("--amqp"), url_, std::string("--amqp-prefix"),
                          topology_.prefix, std::string("--demo-data"), std::string("--report"),
                          (reports_ / (services.front() + ".json")).string(),
                          std::string("--state"), state_file(services.front())}) {
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
    std::string text;
    if (FILE* out = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      while (auto n = std::fread(buffer, 1, sizeof buffer, out)) text.append(buffer, n);
      REQUIRE(::pclose(out) == 0);
    }
    const json::value counts = json::parse(text).at(service);
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

TEST_CASE("over RabbitMQ, a participant killed with sagas in flight finishes them once back up") {
  Deployment d("killed-under-load");
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
