// Retention on the in-memory store with a manual clock: the ages (defaults, a flow's own),
// what is never removed, batches, the archive before the removal, the preview and the oldest
// finished saga kept.
#include <doctest/doctest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/retention.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace {

using namespace sagaflow;
using namespace std::chrono_literals;
using Days = std::chrono::days;

std::shared_ptr<const flow::Flow> flow_with(const std::string& name,
                                            const std::string& retention = "") {
  auto loaded = flow::load_flow_text("name: " + name + "\nversion: 1\n" + retention +
                                         "steps:\n  - name: a\n    publish: { event: e }\n",
                                     name + ".yaml");
  REQUIRE(loaded.ok());
  return loaded.flow;
}

struct World {
  testing::ManualClock clock;
  testing::MemoryStore store{clock};
  FlowRegistry flows;
  int next = 0;

  World() {
    flows.add(flow_with("order"));
    flows.add(flow_with("refund", "retention: { completed: 1d, cancelled: never }\n"));
  }

  // A saga of `flow` that ended in `status` `ago` before now, with two history rows.
  std::string ended(const std::string& flow, const std::string& status, Duration ago,
                    const std::string& key = "", const std::string& state = "{}") {
    SagaWrite w;
    w.saga.id = "s" + std::to_string(++next);
    w.saga.flow = flow;
    w.saga.status = status;
    w.saga.version = 2;
    w.saga.idempotency_key = key;
    w.saga.state = state;
    w.saga.created_at = clock.now() - ago - 1s;
    w.saga.updated_at = clock.now() - ago;
    w.history.push_back({w.saga.id, 1, w.saga.created_at, "saga_started", "", "{}"});
    w.history.push_back({w.saga.id, 2, w.saga.updated_at, "saga_" + status, "", "{}"});
    store.commit(CommitBatch{.writes = {w}});
    return w.saga.id;
  }

  bool kept(const std::string& id) { return store.load(id).has_value(); }
};

// Runs a whole pass; returns how many batches removed something.
int run_pass(Retention& retention, const PurgeScope& scope = {}) {
  retention.begin_pass(scope);
  int batches = 0;
  while (retention.step()) ++batches;
  return batches;
}

std::uint64_t removed_sagas(const Retention& retention) {
  std::uint64_t n = 0;
  for (const auto& g : retention.last_pass()) n += g.sagas;
  return n;
}

struct RecordingArchive final : RetentionArchive {
  std::vector<ArchivedSaga> written;
  bool fail = false;
  void write(std::span<const ArchivedSaga> sagas) override {
    if (fail) throw std::runtime_error("disk full");
    written.insert(written.end(), sagas.begin(), sagas.end());
  }
};

struct RecordingMetrics final : Metrics {
  std::map<std::string, std::uint64_t> sagas, history;
  std::map<std::string, std::optional<Duration>> oldest;
  static std::string key(std::string_view flow, Status status) {
    return std::string(flow) + "/" + to_string(status);
  }
  void sagas_removed(std::string_view flow, Status status, std::uint64_t s,
                     std::uint64_t h) override {
    sagas[key(flow, status)] += s;
    history[key(flow, status)] += h;
  }
  void oldest_finished_kept(std::string_view flow, Status status,
                            std::optional<Duration> age) override {
    oldest[key(flow, status)] = age;
  }
};

}  // namespace

TEST_CASE("retention rules: the daemon's defaults, and a flow's own ages per status") {
  World w;
  const auto rules = retention_rules(w.flows, RetentionDefaults{});
  REQUIRE(rules.size() == 6);
  CHECK(rules[0].flow == "order");
  CHECK(rules[0].status == Status::completed);
  CHECK(rules[0].keep == KeepFor{.forever = false, .age = Days(7)});
  CHECK(rules[1].keep == KeepFor{.forever = false, .age = Days(30)});  // compensated
  CHECK(rules[2].keep == KeepFor{.forever = false, .age = Days(30)});  // cancelled
  CHECK(rules[3].flow == "refund");
  CHECK(rules[3].keep == KeepFor{.forever = false, .age = Days(1)});   // its own
  CHECK(rules[4].keep == KeepFor{.forever = false, .age = Days(30)});  // the default
  CHECK(rules[5].keep == KeepFor{.forever = true});                    // never

  // The latest version's retention counts for every version of the flow.
  auto v2 = flow::load_flow_text(
      "name: order\nversion: 2\nretention: { completed: 2d }\n"
      "steps:\n  - name: a\n    publish: { event: e }\n",
      "order.yaml");
  REQUIRE(v2.ok());
  w.flows.add(v2.flow);
  CHECK(retention_rules(w.flows, {})[0].keep == KeepFor{.forever = false, .age = Days(2)});
}

TEST_CASE("retention removes finished sagas past their age and keeps the rest") {
  World w;
  const auto old_completed = w.ended("order", "completed", Days(8));
  const auto young_completed = w.ended("order", "completed", Days(6));
  const auto old_compensated = w.ended("order", "compensated", Days(31));
  const auto young_cancelled = w.ended("order", "cancelled", Days(29));
  const auto parked = w.ended("order", "failed", Days(400));
  const auto running = w.ended("order", "running", Days(400));
  const auto refund_completed = w.ended("refund", "completed", Days(2));
  const auto refund_cancelled = w.ended("refund", "cancelled", Days(400));
  RecordingMetrics metrics;
  Retention retention(w.store, w.flows, w.clock, {}, nullptr, &metrics);

  run_pass(retention);
  CHECK_FALSE(w.kept(old_completed));
  CHECK_FALSE(w.kept(old_compensated));
  CHECK_FALSE(w.kept(refund_completed));  // its flow keeps completed sagas 1 day
  CHECK(w.store.history(old_completed).empty());
  for (const auto& id : {young_completed, young_cancelled, parked, running, refund_cancelled}) {
    CHECK(w.kept(id));
  }
  CHECK(removed_sagas(retention) == 3);
  CHECK(metrics.sagas["order/completed"] == 1);
  CHECK(metrics.history["order/completed"] == 2);
  CHECK(metrics.sagas["order/compensated"] == 1);
  CHECK(metrics.sagas["refund/completed"] == 1);

  // The oldest kept, after the pass: by status, none where none is kept.
  CHECK(metrics.oldest["order/completed"] == std::optional<Duration>(Days(6)));
  CHECK(metrics.oldest["order/cancelled"] == std::optional<Duration>(Days(29)));
  CHECK(metrics.oldest["refund/cancelled"] == std::optional<Duration>(Days(400)));
  CHECK_FALSE(metrics.oldest["order/compensated"].has_value());

  // A day later the young completed saga is 7 days old: still kept (older than, not as old as).
  w.clock.advance(Days(1));
  run_pass(retention);
  CHECK(w.kept(young_completed));
  w.clock.advance(1ms);
  run_pass(retention);
  CHECK_FALSE(w.kept(young_completed));
}

TEST_CASE("retention keeps a finished child saga while its parent may still compensate it") {
  World w;
  const auto child_of = [](const std::string& parent) {
    return R"({"parent":{"id":")" + parent + R"(","step":"pay","command":"c","answered":""}})";
  };
  const auto running_parent = w.ended("order", "running", Days(40));
  const auto parked_parent = w.ended("order", "failed", Days(40));
  const auto ended_parent = w.ended("order", "compensated", Days(40));
  const auto child_of_running =
      w.ended("order", "completed", Days(20), "", child_of(running_parent));
  const auto child_of_parked = w.ended("order", "completed", Days(20), "", child_of(parked_parent));
  const auto child_of_ended = w.ended("order", "completed", Days(20), "", child_of(ended_parent));
  const auto orphan = w.ended("order", "completed", Days(20), "", child_of("gone"));
  Retention retention(w.store, w.flows, w.clock, {});

  run_pass(retention);
  CHECK(w.kept(child_of_running));
  CHECK(w.kept(child_of_parked));
  CHECK_FALSE(w.kept(child_of_ended));
  CHECK_FALSE(w.kept(orphan));
  CHECK_FALSE(w.kept(ended_parent));
  CHECK(removed_sagas(retention) == 3);
}

TEST_CASE("retention works in batches: each step removes at most one batch") {
  World w;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(w.ended("order", "completed", Days(10)));
  Retention retention(w.store, w.flows, w.clock, {.batch = 2});
  retention.begin_pass();
  std::vector<std::uint64_t> after_each;
  while (retention.step()) after_each.push_back(removed_sagas(retention));
  CHECK(after_each == std::vector<std::uint64_t>{2, 4, 5});
  for (const auto& id : ids) CHECK_FALSE(w.kept(id));

  // A pass narrowed to one flow and status leaves the others.
  const auto completed = w.ended("order", "completed", Days(10));
  const auto compensated = w.ended("order", "compensated", Days(40));
  run_pass(retention, {.flow = "order", .status = Status::compensated});
  CHECK(w.kept(completed));
  CHECK_FALSE(w.kept(compensated));
}

TEST_CASE(
    "retention archives each batch before it removes it, and removes nothing it could not "
    "archive") {
  World w;
  const auto a = w.ended("order", "completed", Days(8), "key-a");
  const auto b = w.ended("order", "completed", Days(9));
  RecordingArchive archive;
  Retention retention(w.store, w.flows, w.clock, {}, &archive);

  archive.fail = true;
  CHECK_THROWS_AS(retention.step(), std::runtime_error);
  CHECK(w.kept(a));
  CHECK(w.kept(b));

  archive.fail = false;
  run_pass(retention);
  REQUIRE(archive.written.size() == 2);
  CHECK(archive.written[0].saga.id == b);  // oldest created first
  CHECK(archive.written[0].history.size() == 2);
  CHECK(archive.written[1].saga.id == a);
  CHECK(archive.written[1].saga.idempotency_key == "key-a");
  CHECK_FALSE(w.kept(a));
  // The key of a removed saga is free: a start with it makes a new saga.
  CHECK_FALSE(w.store.find_by_idempotency_key("order", "key-a").has_value());
}

TEST_CASE("retention yields: after a batch it waits its pause, or longer after a slow batch") {
  // A quick batch: the pause decides.
  CHECK(retention_pause(100ms, 5ms) == 100ms);
  // A batch slowed by a busy server: kRetentionYield times as long, so that removing takes at
  // most 1 / (1 + kRetentionYield) of the time.
  CHECK(retention_pause(100ms, 80ms) == 80ms * kRetentionYield);
  CHECK(retention_pause(0ms, 10ms) == 10ms * kRetentionYield);
  // Rounded up to whole milliseconds, never down to no pause at all.
  CHECK(retention_pause(0ms, 1us) == 1ms);
  CHECK(retention_pause(0ms, 0ns) == 0ms);
}

TEST_CASE("retention preview counts what would go, per flow and status, without removing") {
  World w;
  w.ended("order", "completed", Days(8));
  const auto oldest = w.ended("order", "completed", Days(20));
  w.ended("order", "completed", Days(1));
  w.ended("refund", "cancelled", Days(400));
  Retention retention(w.store, w.flows, w.clock);
  const auto groups = retention.preview();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].flow == "order");
  CHECK(groups[0].status == Status::completed);
  CHECK(groups[0].sagas == 2);
  CHECK(groups[0].oldest == w.store.load(oldest)->updated_at);
  CHECK(w.kept(oldest));
  CHECK(retention.preview({.flow = "refund"}).empty());
}

TEST_CASE("retention removes only the sagas of the partitions it is given") {
  World w;
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(w.ended("order", "completed", Days(8)));
  // The ids' partitions as the memory store keeps them (the rows' partition field: 0 here).
  Retention none(w.store, w.flows, w.clock, {}, nullptr, nullptr,
                 [] { return std::vector<int>{5}; });
  run_pass(none);
  for (const auto& id : ids) CHECK(w.kept(id));
  Retention mine(w.store, w.flows, w.clock, {}, nullptr, nullptr,
                 [] { return std::vector<int>{0}; });
  run_pass(mine);
  for (const auto& id : ids) CHECK_FALSE(w.kept(id));
}

TEST_CASE("a saga removed between the orchestrator's read and its commit fails no other write") {
  testing::ManualClock clock;
  testing::MemoryStore store{clock};
  testing::FakeTransport transport;
  FlowRegistry flows;
  auto loaded = flow::load_flow_text(
      "name: order\nversion: 1\nsteps:\n  - name: a\n    irreversible: true\n"
      "    command: { service: s, name: c }\n",
      "order.yaml");
  REQUIRE(loaded.ok());
  flows.add(loaded.flow);
  Orchestrator orchestrator(flows, store, transport, clock, {.timer_poll = 0ms});

  auto first = orchestrator.start({.flow = "order", .input = json::object{}});
  orchestrator.run_once(0ms);
  const auto id = first.get().saga_id;
  const auto command = transport.published.back();
  transport.deliver(worker::make_reply(command, worker::Result::ok()));
  orchestrator.run_once(0ms);
  REQUIRE(store.load(id)->status == "completed");

  // The same reply again (a late duplicate) and a new start in one round; retention removes the
  // finished saga after the round read it, before its commit.
  transport.deliver(worker::make_reply(command, worker::Result::ok()));
  auto second = orchestrator.start({.flow = "order", .input = json::object{}});
  store.on_next_commit([&] {
    const std::vector<SagaRow> removed = {*store.load(id)};
    REQUIRE(store.remove_finished(removed).sagas == 1);
  });
  orchestrator.run_once(0ms);
  const auto second_id = second.get().saga_id;  // committed: no error
  CHECK(store.load(second_id)->status == "running");
  CHECK_FALSE(store.load(id).has_value());
  // The late reply comes again next round and finds no saga.
  orchestrator.run_once(0ms);
  REQUIRE(transport.dead_letter_codes.size() == 1);
  CHECK(transport.dead_letter_codes[0] == DeadLetterCode::unknown_saga);
}
