// The embedded mode end to end: orchestrator, SQLite file store, in-process bus, and
// participants on their own thread. Timers run on a manual clock.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kFlow = R"(
name: purchase
version: 1
input:
  user: string
  price: integer
steps:
  - name: create_order
    command: { service: offers, name: create_order, input: { user: $input.user } }
    compensation: { service: offers, name: cancel_order, input: { user: $input.user } }
  - name: reserve
    command: { service: points, name: reserve, input: { user: $input.user, amount: $input.price } }
    retry: { max_attempts: 3, initial_delay: 100ms }
    timeout: 2s
    compensation: { service: points, name: release, input: { user: $input.user, amount: $input.price } }
  - name: debit
    command: { service: points, name: debit, input: { user: $input.user, amount: $input.price } }
    compensation: { service: points, name: refund, input: { user: $input.user, amount: $input.price } }
  - name: fulfil
    irreversible: true
    command: { service: offers, name: fulfil, input: { user: $input.user } }
)";

// A participant that keeps a ledger of the effects it applied, by idempotency key, so that a
// test can prove each happened at most once. Points keep real balances.
class Participants {
 public:
  Participants() {
    for (auto type : {"offers.create_order", "offers.cancel_order", "offers.fulfil"}) {
      offers.on(type, [this](const worker::Command& c) { return apply(c, 0); });
    }
    points.on("points.reserve", [this](const worker::Command& c) {
      std::lock_guard lock(mutex);
      auto user = std::string(c.payload.at("user").as_string());
      auto amount = c.payload.at("amount").to_number<std::int64_t>();
      if (fail_reserve_technically > 0) {
        --fail_reserve_technically;
        return worker::Result::technical_error("Unavailable");
      }
      if (balance[user] < amount) return worker::Result::business_failure("InsufficientPoints");
      return apply_locked(c, -amount);
    });
    for (auto type : {"points.release", "points.refund"}) {
      points.on(type, [this](const worker::Command& c) {
        return apply(c, c.payload.at("amount").to_number<std::int64_t>());
      });
    }
    points.on("points.debit", [this](const worker::Command& c) { return apply(c, 0); });
  }

  worker::Result apply(const worker::Command& c, std::int64_t balance_change) {
    std::lock_guard lock(mutex);
    return apply_locked(c, balance_change);
  }

  worker::Result apply_locked(const worker::Command& c, std::int64_t balance_change) {
    ++ledger[c.message.idempotency_key];
    ++applied[c.message.type];
    if (c.payload.as_object().contains("user")) {
      balance[std::string(c.payload.at("user").as_string())] += balance_change;
    }
    return worker::Result::ok(json::object{{"applied", true}});
  }

  std::size_t applied_count(const std::string& type) {
    std::lock_guard lock(mutex);
    return applied[type];
  }

  std::mutex mutex;
  std::map<std::string, int> ledger;  // idempotency key -> times applied
  std::map<std::string, std::size_t> applied;
  std::map<std::string, std::int64_t> balance;
  int fail_reserve_technically = 0;
  worker::Dispatcher offers;
  worker::Dispatcher points;
};

std::filesystem::path temp_db(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("sagaflow-") + name + "-" + std::to_string(::getpid()) + ".db");
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  return path;
}

// Participants answer on their own thread, as in the daemon.
struct Workers {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~Workers() {
    guard.reset();
    io.stop();
    thread.join();
  }
};

struct Embedded {
  explicit Embedded(const std::filesystem::path& db, Participants& participants)
      : store(sqlite::SqliteOptions{.path = db.string()}) {
    flows.add(sagaflow::testing::load_test_flow(kFlow));
    bus.serve("offers", participants.offers);
    bus.serve("points", participants.points);
    orchestrator =
        std::make_unique<Orchestrator>(flows, store, bus.orchestrator(), clock,
                                       OrchestratorOptions{.idle_wait = 2ms, .timer_poll = 0ms});
  }

  std::string start(std::string user, int price) {
    auto f = orchestrator->start(
        StartRequest{.flow = "purchase", .input = json::object{{"user", user}, {"price", price}}});
    orchestrator->run_once(0ms);
    return f.get().saga_id;
  }

  std::string status(const std::string& id) { return store.load(id).value().status; }

  // Runs rounds until every saga is final (or 10 s pass: then the test fails on the status).
  void run_until_final(const std::vector<std::string>& ids) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      orchestrator->run_once(2ms);
      bool all_final = std::all_of(ids.begin(), ids.end(), [&](const std::string& id) {
        return is_final(status_from_string(status(id)).value());
      });
      if (all_final) return;
    }
  }

  Workers workers;
  FlowRegistry flows;
  sagaflow::testing::ManualClock clock;
  inproc::Bus bus{workers.io};
  sqlite::SqliteStore store;
  std::unique_ptr<Orchestrator> orchestrator;
};

}  // namespace

TEST_CASE("embedded: sagas succeed, fail with compensation, retry and cancel") {
  auto db = temp_db("paths");
  Participants p;
  p.balance = {{"rich", 1000}, {"poor", 10}, {"flaky", 1000}};
  Embedded e(db, p);

  auto ok = e.start("rich", 100);
  auto poor = e.start("poor", 100);
  e.run_until_final({ok, poor});
  CHECK(e.status(ok) == "completed");
  CHECK(e.status(poor) == "compensated");
  CHECK(p.balance["rich"] == 900);
  CHECK(p.balance["poor"] == 10);
  CHECK(p.applied_count("offers.cancel_order") == 1);  // only the poor user's order

  SUBCASE("a technical error is retried after the backoff timer") {
    p.fail_reserve_technically = 1;
    auto flaky = e.start("flaky", 100);
    for (int i = 0; i < 50 && p.fail_reserve_technically > 0; ++i) e.orchestrator->run_once(2ms);
    e.orchestrator->run_once(2ms);
    CHECK(e.status(flaky) == "running");
    e.clock.advance(150ms);  // the backoff is at most 100 ms
    e.run_until_final({flaky});
    CHECK(e.status(flaky) == "completed");
    CHECK(p.balance["flaky"] == 900);
  }

  SUBCASE("a cancelled saga compensates and ends cancelled") {
    p.balance["slow"] = 1000;
    auto id = e.start("slow", 100);
    auto cancelled = e.orchestrator->cancel(id, "changed mind");
    e.run_until_final({id});
    // Requests are taken before replies in a round: the cancel lands while create_order is out.
    cancelled.get();
    CHECK(e.status(id) == "cancelled");
    CHECK(p.balance["slow"] == 1000);
    CHECK(p.applied_count("offers.cancel_order") == 2);
    CHECK_THROWS_AS(
        [&] {
          auto again = e.orchestrator->cancel(id, "twice");
          e.orchestrator->run_once(0ms);
          again.get();
        }(),
        Refused);
  }

  SUBCASE("the same idempotency key returns the first saga") {
    auto first =
        e.orchestrator->start(StartRequest{.flow = "purchase",
                                           .input = json::object{{"user", "rich"}, {"price", 1}},
                                           .idempotency_key = "k-1"});
    auto second =
        e.orchestrator->start(StartRequest{.flow = "purchase",
                                           .input = json::object{{"user", "rich"}, {"price", 1}},
                                           .idempotency_key = "k-1"});
    e.orchestrator->run_once(0ms);
    auto a = first.get();
    auto b = second.get();
    CHECK(a.created);
    CHECK_FALSE(b.created);
    CHECK(a.saga_id == b.saga_id);
    auto third =
        e.orchestrator->start(StartRequest{.flow = "purchase",
                                           .input = json::object{{"user", "rich"}, {"price", 1}},
                                           .idempotency_key = "k-1"});
    e.orchestrator->run_once(0ms);
    CHECK(third.get().saga_id == a.saga_id);
  }
}

TEST_CASE("embedded: a lost reply times out on the manual clock and is compensated") {
  auto db = temp_db("timeout");
  Participants p;
  p.balance = {{"u", 1000}};
  Embedded e(db, p);
  std::unique_lock held(p.mutex);  // the participant is busy: it takes create_order, then waits
  auto id = e.start("u", 100);     // create_order is out (30 s timeout, one attempt)
  // Once the participant took the command, its attempt's timeout runs.
  auto timer_started = [&] { return !e.store.due_timers(e.clock.now() + 30s, 10).empty(); };
  for (int i = 0; i < 500 && !timer_started(); ++i) e.orchestrator->run_once(1ms);
  REQUIRE(timer_started());
  e.bus.lose_in_flight();  // its reply vanishes
  held.unlock();
  for (int i = 0; i < 5; ++i) e.orchestrator->run_once(1ms);
  CHECK(e.status(id) == "running");
  e.clock.advance(31s);
  e.run_until_final({id});
  // The order may have been created: it is cancelled, exactly once.
  CHECK(e.status(id) == "compensated");
  CHECK(p.applied_count("offers.cancel_order") == 1);
  auto history = e.store.history(id);
  CHECK(std::any_of(history.begin(), history.end(),
                    [](const HistoryRow& h) { return h.kind == "step_timed_out"; }));
}

TEST_CASE("embedded: a command queued behind a busy participant spends no attempt time") {
  auto db = temp_db("queued");
  Participants p;
  p.balance = {{"first", 1000}, {"second", 1000}};
  Embedded e(db, p);
  std::unique_lock held(p.mutex);  // the only worker takes first's create_order and hangs
  auto first = e.start("first", 100);
  auto timer_started = [&] { return !e.store.due_timers(e.clock.now() + 30s, 10).empty(); };
  for (int i = 0; i < 500 && !timer_started(); ++i) e.orchestrator->run_once(1ms);
  REQUIRE(timer_started());
  auto second = e.start("second", 100);  // its create_order waits in the bus, behind first's
  for (int i = 0; i < 20; ++i) e.orchestrator->run_once(1ms);
  e.clock.advance(10min);
  for (int i = 0; i < 20; ++i) e.orchestrator->run_once(1ms);

  auto timed_out = [&](const std::string& id) {
    auto history = e.store.history(id);
    return std::any_of(history.begin(), history.end(),
                       [](const HistoryRow& h) { return h.kind == "step_timed_out"; });
  };
  // The participant had first's command for 10 minutes: timed out. Second's never reached it.
  CHECK(timed_out(first));
  CHECK_FALSE(timed_out(second));
  held.unlock();
  e.run_until_final({first, second});
  CHECK(e.status(first) == "compensated");
  CHECK(e.status(second) == "completed");
  CHECK_FALSE(timed_out(second));
  CHECK(p.balance["second"] == 900);
}

TEST_CASE("embedded: a new engine reopens the SQLite file mid-saga and finishes every saga") {
  auto db = temp_db("crash");
  Participants p;
  std::vector<std::string> ids;
  {
    Embedded before(db, p);
    for (int i = 0; i < 40; ++i) {
      auto user = "user" + std::to_string(i);
      p.balance[user] = i % 4 == 0 ? 10 : 1000;  // every fourth cannot pay: compensates
      ids.push_back(before.start(user, 100));
    }
    for (int i = 0; i < 3; ++i) before.orchestrator->run_once(1ms);
    before.bus.lose_in_flight();  // the crash: whatever was on the bus is gone
  }
  std::size_t unfinished = 0;
  {
    sqlite::SqliteStore peek(sqlite::SqliteOptions{.path = db.string()});
    unfinished = peek.load_unfinished().size();
  }
  CHECK(unfinished > 0);  // the crash did happen mid-saga

  Embedded after(db, p);
  after.orchestrator->recover(true);
  after.run_until_final(ids);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(i);
    CHECK(after.status(ids[i]) == (i % 4 == 0 ? "compensated" : "completed"));
  }
  std::lock_guard lock(p.mutex);
  for (const auto& [key, times] : p.ledger) {
    CAPTURE(key);
    CHECK(times == 1);  // no effect applied twice
  }
  for (int i = 0; i < 40; ++i) {
    auto user = "user" + std::to_string(i);
    CHECK(p.balance[user] == (i % 4 == 0 ? 10 : 900));
  }
}

namespace {

// Sub-flows (docs/flow-language.md#subflow): two purchases as child sagas.
constexpr std::string_view kTwoPurchases = R"(
name: two_purchases
version: 1
input:
  user: string
  first: integer
  second: integer
steps:
  - name: first
    subflow: { flow: purchase, input: { user: $input.user, price: $input.first } }
  - name: second
    subflow: { flow: purchase, input: { user: $input.user, price: $input.second } }
)";

std::string start_two(Embedded& e, const std::string& user, int first, int second) {
  auto f = e.orchestrator->start(
      StartRequest{.flow = "two_purchases",
                   .input = json::object{{"user", user}, {"first", first}, {"second", second}}});
  e.orchestrator->run_once(0ms);
  return f.get().saga_id;
}

std::vector<std::string> children_of(Embedded& e, const std::string& id) {
  std::vector<std::string> out;
  auto state = json::parse(e.store.load(id).value().state);
  for (const auto& [step, child] : state.at("children").as_object()) {
    out.emplace_back(child.as_string());
  }
  return out;
}

}  // namespace

TEST_CASE("embedded: sub-flows complete, compensate a completed child, and survive a restart") {
  auto db = temp_db("subflows");
  Participants p;
  p.balance = {{"rich", 1000}, {"poor", 150}};
  std::string rich;
  std::string poor;
  {
    Embedded before(db, p);
    before.flows.add(sagaflow::testing::load_test_flow(kTwoPurchases));
    rich = start_two(before, "rich", 100, 200);
    poor = start_two(before, "poor", 100, 100);  // the second cannot be paid
    for (int i = 0; i < 3; ++i) before.orchestrator->run_once(1ms);
    before.bus.lose_in_flight();  // the crash: whatever was on the bus is gone
  }
  Embedded after(db, p);
  after.flows.add(sagaflow::testing::load_test_flow(kTwoPurchases));
  after.orchestrator->recover(true);
  after.run_until_final({rich, poor});
  // The children end before their parent: wait for the parents' last rounds too.
  CHECK(after.status(rich) == "completed");
  CHECK(after.status(poor) == "compensated");
  REQUIRE(children_of(after, rich).size() == 2);
  for (const auto& child : children_of(after, rich)) CHECK(after.status(child) == "completed");
  REQUIRE(children_of(after, poor).size() == 2);
  for (const auto& child : children_of(after, poor)) CHECK(after.status(child) == "compensated");
  CHECK(p.balance["rich"] == 700);
  // Exactly one child per step: two parents, four purchases.
  CHECK(after.store.list(SagaFilter{.flow = "purchase"}).size() == 4);
  // poor's first purchase completed and was compensated by its parent (its own compensations:
  // refund, release, cancel_order); the second cancelled its order after the refused reserve.
  CHECK(p.applied_count("points.refund") == 1);
  CHECK(p.applied_count("points.release") == 1);
  CHECK(p.applied_count("offers.cancel_order") == 2);
  std::lock_guard lock(p.mutex);
  for (const auto& [key, times] : p.ledger) {
    CAPTURE(key);
    CHECK(times == 1);  // no effect applied twice
  }
}
