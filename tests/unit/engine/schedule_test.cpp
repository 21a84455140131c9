// Schedules and delayed starts on the orchestrator, over the fakes with a manual clock: a
// schedule fires at each time of its expression, once per time whoever tries, skips while its
// last saga runs (overlap skip), catches up once after a gap; a delayed start is a stored timer
// that a restarted orchestrator fires.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/schedule.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/memory_store.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using sagaflow::testing::FakeTransport;
using sagaflow::testing::ManualClock;
using sagaflow::testing::MemoryStore;

namespace {

constexpr std::string_view kFlow = R"(
name: report
version: 1
input:
  n: integer
steps:
  - name: build
    irreversible: true
    command: { service: reports, name: build, input: { n: $input.n } }
)";

// 2023-11-14T22:13:20Z, the manual clock's start.
const Timestamp kT0 = from_millis(1'700'000'000'000);
const Timestamp k2215 = from_millis(1'700'000'100'000);  // 22:15:00Z

struct Node {
  Node(const FlowRegistry& flows, Store& store)
      : orchestrator(flows, store, transport, clock, {}) {}
  FakeTransport transport;
  ManualClock clock{kT0};
  Orchestrator orchestrator;
  void at(Timestamp t) {
    clock.set(t);
    orchestrator.run_once(0ms);
  }
};

struct Fixture {
  Fixture() { flows.add(sagaflow::testing::load_test_flow(kFlow)); }
  ScheduleRow every_five(std::string overlap = "skip") {
    return ScheduleRow{.name = "every5",
                       .flow = "report",
                       .cron = "*/5 * * * *",
                       .overlap = std::move(overlap),
                       .input = R"({"n": 7})"};
  }
  ScheduleRow stored(const std::string& name) {
    for (auto& s : store.schedules()) {
      if (s.name == name) return s;
    }
    FAIL("no schedule " << name);
    return {};
  }
  std::vector<SagaRow> sagas() { return store.list(SagaFilter{.flow = "report", .limit = 100}); }
  FlowRegistry flows;
  MemoryStore store;
};

}  // namespace

TEST_CASE("a schedule starts its flow at each time of its expression, with its input and key") {
  Fixture f;
  Node a(f.flows, f.store);
  a.orchestrator.save_schedule(f.every_five("allow"));
  a.at(kT0 + 1min);  // 22:14:20: not yet
  CHECK(f.sagas().empty());
  a.at(k2215);
  auto sagas = f.sagas();
  REQUIRE(sagas.size() == 1);
  CHECK(sagas[0].idempotency_key == "schedule:every5:2023-11-14T22:15:00Z");
  CHECK(sagas[0].idempotency_key == schedule_key("every5", k2215));
  REQUIRE(a.transport.published.size() == 1);
  CHECK(a.transport.published[0].body.find("7") != std::string::npos);
  auto row = f.stored("every5");
  CHECK(row.last_fire == k2215);
  CHECK(row.last_outcome == "started");
  CHECK(row.last_saga == sagas[0].id);

  a.at(k2215 + 4min);  // nothing new before 22:20
  CHECK(f.sagas().size() == 1);
  a.at(k2215 + 5min);
  CHECK(f.sagas().size() == 2);
}

TEST_CASE("overlap skip starts nothing while the schedule's last saga is unfinished") {
  Fixture f;
  Node a(f.flows, f.store);
  a.orchestrator.save_schedule(f.every_five("skip"));
  a.at(k2215);
  REQUIRE(f.sagas().size() == 1);
  const auto first = f.sagas()[0].id;
  a.at(k2215 + 5min);  // the first still waits for its reply
  CHECK(f.sagas().size() == 1);
  auto row = f.stored("every5");
  CHECK(row.last_outcome == "skipped");
  CHECK(row.last_fire == k2215 + 5min);
  CHECK(row.last_saga == first);
}

TEST_CASE("a schedule that missed times while no orchestrator ran fires the latest of them once") {
  Fixture f;
  Node a(f.flows, f.store);
  a.orchestrator.save_schedule(f.every_five("allow"));
  a.at(k2215 + 3h + 2min);  // missed 37 times: 22:15 .. 01:15
  auto sagas = f.sagas();
  REQUIRE(sagas.size() == 1);
  CHECK(sagas[0].idempotency_key == schedule_key("every5", k2215 + 3h));
  a.at(k2215 + 3h + 4min);
  CHECK(f.sagas().size() == 1);
}

TEST_CASE("a paused schedule fires nothing and a deleted one is gone") {
  Fixture f;
  Node a(f.flows, f.store);
  a.orchestrator.save_schedule(f.every_five("allow"));
  CHECK(a.orchestrator.set_schedule_paused("every5", true));
  a.at(k2215 + 1h);
  CHECK(f.sagas().empty());
  CHECK(f.stored("every5").paused);
  CHECK(a.orchestrator.set_schedule_paused("every5", false));
  a.at(k2215 + 1h + 1s);
  CHECK(f.sagas().size() == 1);  // the latest time missed while paused, once
  CHECK(a.orchestrator.remove_schedule("every5"));
  CHECK_FALSE(a.orchestrator.remove_schedule("every5"));
  CHECK_FALSE(a.orchestrator.set_schedule_paused("every5", true));
  a.at(k2215 + 2h);
  CHECK(f.sagas().size() == 1);
}

TEST_CASE("a deploy is checked: expression, zone, overlap, input and flow") {
  Fixture f;
  Node a(f.flows, f.store);
  auto bad = [&](ScheduleRow row) {
    try {
      a.orchestrator.save_schedule(std::move(row));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  auto s = f.every_five();
  s.cron = "*/5 * * *";
  CHECK(bad(s).find("has 5 fields") != std::string::npos);
  s = f.every_five();
  s.zone = "Europe/Atlantis";
  CHECK(bad(s).find("unknown time zone 'Europe/Atlantis'") != std::string::npos);
  s = f.every_five();
  s.overlap = "queue";
  CHECK(bad(s).find("overlap must be skip or allow") != std::string::npos);
  s = f.every_five();
  s.flow = "nope";
  CHECK(bad(s).find("unknown flow nope") != std::string::npos);
  s = f.every_five();
  s.name = "a b";
  CHECK(bad(s).find("name") != std::string::npos);
  CHECK(f.store.schedules().empty());
}

TEST_CASE("a time is started once even when a second orchestrator, or a restart, fires it again") {
  Fixture f;
  Node a(f.flows, f.store);
  a.orchestrator.save_schedule(f.every_five("allow"));
  a.at(k2215);
  REQUIRE(f.sagas().size() == 1);
  const auto first = f.sagas()[0].id;
  // Another orchestrator that has not seen the firing recorded (it was deployed again, as after
  // a crash between the start's commit and the record): it fires 22:15 again; the key finds the
  // saga and nothing new starts.
  Node b(f.flows, f.store);
  REQUIRE(f.store.remove_schedule("every5"));
  b.orchestrator.save_schedule(f.every_five("allow"));  // deployed at b's 22:13:20
  b.at(k2215 + 1s);
  CHECK(f.sagas().size() == 1);
  CHECK(b.transport.published.empty());
  auto row = f.stored("every5");
  CHECK(row.last_fire == k2215);
  CHECK(row.last_saga == first);
}

TEST_CASE("a schedule in a time zone fires at that zone's local time") {
  Fixture f;
  Node a(f.flows, f.store);
  auto s = f.every_five("allow");
  s.name = "berlin";
  s.cron = "30 23 * * *";  // 23:30 in Berlin (CET, UTC+1) is 22:30Z
  s.zone = "Europe/Berlin";
  a.orchestrator.save_schedule(s);
  a.at(k2215 + 14min);  // 22:29Z
  CHECK(f.sagas().empty());
  a.at(k2215 + 15min);  // 22:30Z
  REQUIRE(f.sagas().size() == 1);
  CHECK(f.sagas()[0].idempotency_key == "schedule:berlin:2023-11-14T22:30:00Z");
}

TEST_CASE(
    "a delayed start is a stored timer: a restarted orchestrator starts it once at its time") {
  Fixture f;
  std::string id;
  {
    Node a(f.flows, f.store);
    auto started = a.orchestrator.start(
        StartRequest{.flow = "report", .input = json::object{{"n", 1}}, .start_at = kT0 + 10min});
    a.orchestrator.run_once(0ms);
    id = started.get().saga_id;
    CHECK(f.store.load(id)->status == "pending");
    CHECK(a.transport.published.empty());
    a.at(kT0 + 9min);
    CHECK(a.transport.published.empty());
  }  // the orchestrator goes away (its process killed): the timer row stays in the store
  Node b(f.flows, f.store);
  b.orchestrator.recover(false);
  b.at(kT0 + 9min + 59s);
  CHECK(b.transport.published.empty());
  b.at(kT0 + 10min);
  CHECK(f.store.load(id)->status == "running");
  REQUIRE(b.transport.published.size() == 1);
  CHECK(b.transport.published[0].type == "reports.build");
  b.at(kT0 + 20min);
  CHECK(b.transport.published.size() == 1);
}
