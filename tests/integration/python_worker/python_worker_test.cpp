// examples/python_worker against the real orchestrator on a live broker (tools/test-broker): the
// points service of offer_purchase runs as a Python child process on the clients/python package
// (its SqliteInbox), the offers service in C++, so these cases check the package against the
// orchestrator. Its state file is read back from its database after each committed group.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>

#include "integration/rabbitmq/broker.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/system_clock.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/sagas/offers.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "support/python.hpp"

namespace sagaflow::rabbitmq {
namespace {

using namespace testing;
using sagaflow::testing::python;
using Strings = std::vector<std::string>;

// Each case gets a topology of its own, also apart from another run of the same case.
std::string unique(const std::string& name) {
  return "pyw." + name + "." + std::to_string(::getpid());
}

// examples/python_worker/points_worker.py as a child process; its state is read from the JSON
// file it rewrites after every committed group, before the group's replies go out.
class PythonPoints {
 public:
  PythonPoints(const Topology& topology, const std::string& accounts)
      : state_file_(std::filesystem::temp_directory_path() /
                    ("sagaflow-" + topology.prefix + "-points.json")) {
    std::filesystem::remove(state_file_);
    const std::string script =
        std::string(SAGAFLOW_SOURCE_DIR) + "/examples/python_worker/points_worker.py";
    std::vector<std::string> args = {
        python(),        script,       "--amqp", broker_url(),   "--prefix",
        topology.prefix, "--accounts", accounts, "--state-file", state_file_.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE_MESSAGE(pid_ >= 0, "cannot fork for " << script);
    if (pid_ == 0) {
      // Dies with the test, even when the test crashes; only async-signal-safe calls here.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    bool ready = eventually(
        [&] {
          if (!running()) return true;
          auto s = state();
          return s.is_object() && s.as_object().at("ready").as_bool();
        },
        30s);
    if (!ready || !running()) {
      // The destructor does not run for a constructor that fails: stop the child here.
      const bool exited = !running();
      stop();
      FAIL("the python points worker "
           << std::string(exited ? "exited" : "did not start consuming in 30 s")
           << " (its stderr is above)");
    }
  }

  ~PythonPoints() { stop(); }
  PythonPoints(const PythonPoints&) = delete;
  PythonPoints& operator=(const PythonPoints&) = delete;

  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }

  void stop() {
    if (pid_ > 0 && running()) {
      ::kill(pid_, SIGTERM);
      // It stops within a tick (0.1 s); the margin is for a loaded machine.
      if (!eventually([&] { return !running(); }, 10s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exited_ = true;
      }
    }
    std::error_code ignored;
    std::filesystem::remove(state_file_, ignored);
  }

  // Null until the worker wrote its first state.
  json::value state() const {
    std::ifstream in(state_file_);
    if (!in) return nullptr;
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto v = json::parse(text.str(), ec);
    return ec ? json::value(nullptr) : v;
  }

  std::int64_t account(const std::string& user, const std::string& field) const {
    return state().at("accounts").at(user).at(field).to_number<std::int64_t>();
  }

  // The effects applied, as "kind key" strings, in order.
  Strings ledger() const {
    Strings out;
    const auto s = state();  // a range-for over state().at(...) would outlive the temporary
    for (const auto& e : s.at("ledger").as_array()) {
      out.push_back(std::string(e.at("kind").as_string()) + " " +
                    std::string(e.at("idempotency_key").as_string()));
    }
    return out;
  }

 private:
  std::filesystem::path state_file_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

OrchestratorSettings orchestrator_settings(const Topology& t) {
  OrchestratorSettings s;
  s.connection = connection();
  s.topology = t;
  s.services = {"offers", "points"};
  return s;
}

// offer_purchase over RabbitMQ: the real orchestrator on its own thread, the C++ offers service
// and the Python points service. Members are destroyed bottom-up: the participants and the
// orchestrator stop before the topology is deleted.
class World {
 public:
  World(const std::string& name, const std::string& accounts)
      : scratch_(unique(name), {"offers", "points"}), points_(scratch_.topology(), accounts) {
    auto loaded =
        flow::load_flow_file(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/offer_purchase.yaml");
    for (const auto& d : loaded.diagnostics) MESSAGE(d.to_string());
    REQUIRE(loaded.ok());
    flows_.add(loaded.flow);

    offers_.register_handlers(offers_dispatcher_);
    WorkerSettings ws;
    ws.connection = connection();
    ws.topology = scratch_.topology();
    ws.service = "offers";
    offers_worker_ = std::make_unique<Worker>(handlers_.io(), offers_dispatcher_, ws);
    offers_worker_->wait_connected(10s);

    transport_ = std::make_unique<OrchestratorTransport>(orchestrator_settings(topology()));
    transport_->wait_connected(10s);
    OrchestratorOptions options;
    options.engine.reply_to = topology().reply_queue();
    orchestrator_ = std::make_unique<Orchestrator>(flows_, store_, *transport_, clock_, options);
    runner_ = std::jthread([this](std::stop_token stop) { orchestrator_->run(stop); });
  }

  ~World() {
    runner_.request_stop();
    if (runner_.joinable()) runner_.join();
  }

  std::string buy(const std::string& user, std::int64_t price) {
    auto started = orchestrator_->start(StartRequest{
        .flow = "offer_purchase",
        .input = json::object{{"user_id", user}, {"offer_id", "spa"}, {"price", price}}});
    return started.get().saga_id;
  }

  // Waits for the saga to end; returns its status (the last one seen when it did not end).
  std::string finish(const std::string& id) {
    std::string status;
    eventually(
        [&] {
          auto row = store_.load(id);
          status = row ? row->status : "";
          return status == "completed" || status == "compensated" || status == "failed" ||
                 status == "cancelled";
        },
        30s);
    return status;
  }

  // Kinds of the history records of a saga with their step, e.g. "compensation_sent create_order".
  Strings history(const std::string& id, const std::string& kind_prefix) {
    Strings out;
    for (const auto& h : store_.history(id)) {
      if (h.kind.starts_with(kind_prefix)) out.push_back(h.kind + " " + h.step);
    }
    return out;
  }

  // The detail of the saga's first history record of that kind and step.
  json::value detail(const std::string& id, const std::string& kind, const std::string& step) {
    for (const auto& h : store_.history(id)) {
      if (h.kind == kind && h.step == step) return json::parse(h.detail);
    }
    FAIL("saga " << id << " has no " << kind << " record for " << step);
    return nullptr;
  }

  Strings offers_effects() const {
    Strings out;
    for (const auto& e : offers_.ledger()) out.push_back(e.kind);
    return out;
  }

  const Topology& topology() const { return scratch_.topology(); }
  PythonPoints& points() { return points_; }

 private:
  Scratch scratch_;
  PythonPoints points_;
  FlowRegistry flows_;
  sagaflow::testing::MemoryStore store_;
  SystemClock clock_;
  sagas::OffersService offers_;
  worker::Dispatcher offers_dispatcher_;
  HandlerThread handlers_;
  std::unique_ptr<Worker> offers_worker_;
  std::unique_ptr<OrchestratorTransport> transport_;
  std::unique_ptr<Orchestrator> orchestrator_;
  std::jthread runner_;
};

TEST_CASE("python worker: enough points buys the offer and spends the price once") {
  World w("complete", "alice=1000");
  auto id = w.buy("alice", 300);
  REQUIRE(w.finish(id) == "completed");

  CHECK(w.offers_effects() == Strings{"create", "fulfil"});
  CHECK(w.points().ledger() ==
        Strings{"reserve " + id + "/reserve_points/do", "debit " + id + "/debit_points/do"});
  CHECK(w.points().account("alice", "balance") == 700);
  CHECK(w.points().account("alice", "reserved") == 0);
  CHECK(w.points().account("alice", "spent") == 300);
  CHECK(w.history(id, "compensation_sent").empty());
}

TEST_CASE("python worker: not enough points is a business failure and the order is cancelled") {
  World w("compensate", "bob=100");
  auto id = w.buy("bob", 300);
  REQUIRE(w.finish(id) == "compensated");

  // The business failure was not retried, and only the order (which exists) was undone.
  CHECK(w.history(id, "command_sent") ==
        Strings{"command_sent create_order", "command_sent reserve_points"});
  CHECK(w.history(id, "compensation_sent") == Strings{"compensation_sent create_order"});
  auto reply = w.detail(id, "reply_received", "reserve_points");
  CHECK(reply.at("outcome") == "business_failure");
  CHECK(reply.at("code") == "InsufficientPoints");
  CHECK(w.offers_effects() == Strings{"create", "cancel"});
  CHECK(w.points().ledger().empty());
  CHECK(w.points().account("bob", "balance") == 100);
}

// Without the orchestrator: the test plays it, so that it sees every reply.
TEST_CASE("python worker: a command delivered twice and then retried is applied once") {
  Scratch scratch(unique("redelivery"), {"offers", "points"});
  const auto& t = scratch.topology();
  PythonPoints points(t, "carol=500");
  OrchestratorTransport transport(orchestrator_settings(t));
  transport.wait_connected(10s);

  Message command;
  command.kind = MessageKind::command;
  command.id = "saga-9/reserve_points/do/1";
  command.idempotency_key = "saga-9/reserve_points/do";
  command.type = "points.reserve";
  command.destination = "points";
  command.correlation_id = "saga-9";
  command.reply_to = t.reply_queue();
  command.flow = "offer_purchase";
  command.step = "reserve_points";
  command.attempt = 1;
  command.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  command.body = R"({"user_id":"carol","amount":200,"order_id":"ord-1"})";
  auto retry = command;
  retry.id = "saga-9/reserve_points/do/2";
  retry.attempt = 2;
  // One at a time, so that the replies come back in this order.
  transport.publish(std::span(&command, 1));
  auto first = receive_n(transport, 1);
  transport.publish(std::span(&command, 1));
  auto second = receive_n(transport, 1);
  transport.publish(std::span(&retry, 1));
  auto third = receive_n(transport, 1);
  REQUIRE(first.size() == 1);
  REQUIRE(second.size() == 1);
  REQUIRE(third.size() == 1);
  for (auto* d : {&first, &second, &third}) transport.ack(std::vector{d->front().tag});

  const auto& a = first.front().message;
  const auto& b = second.front().message;
  const auto& c = third.front().message;
  CHECK(a.kind == MessageKind::reply);
  CHECK(a.outcome == ReplyOutcome::success);
  CHECK(a.id == "saga-9/reserve_points/do/1/reply");
  CHECK(a.causation_id == command.id);
  CHECK(a.correlation_id == "saga-9");
  CHECK(a.type == "points.reserve");
  CHECK(a.idempotency_key == command.idempotency_key);
  CHECK(a.flow == "offer_purchase");
  CHECK(a.step == "reserve_points");
  CHECK(a.attempt == 1);
  CHECK(a.traceparent == command.traceparent);
  CHECK(a.destination == t.reply_queue());
  CHECK(json::parse(a.body).at("reservation_id").is_string());
  // The repeat is the same reply; the retry gets the remembered one, addressed to attempt 2.
  CHECK(b.id == a.id);
  CHECK(b.body == a.body);
  CHECK(c.id == "saga-9/reserve_points/do/2/reply");
  CHECK(c.causation_id == retry.id);
  CHECK(c.attempt == 2);
  CHECK(c.outcome == ReplyOutcome::success);
  CHECK(c.body == a.body);

  CHECK(points.ledger() == Strings{"reserve saga-9/reserve_points/do"});
  CHECK(points.account("carol", "balance") == 300);
  CHECK(points.account("carol", "reserved") == 200);
  CHECK(points.state().at("repeats").to_number<int>() == 2);
  // Every command was acknowledged after its reply: nothing waits or was dead-lettered.
  CHECK(eventually([&] { return scratch.probe().ready(t.command_queue("points")) == 0; }));
  CHECK(scratch.probe().ready(t.dead_letter_queue()) == 0);
}

}  // namespace
}  // namespace sagaflow::rabbitmq
