#pragma once
// The Store contract: what every store adapter (memory fake, SQLite, PostgreSQL) must do, as
// doctest template test cases. A test file includes this header once and instantiates the
// suite for its factories:
//
//   struct MyFactory { std::unique_ptr<sagaflow::Store> make(); };  // one fresh, empty store
//   TYPE_TO_STRING(MyFactory);
//   SAGAFLOW_STORE_CONTRACT(MyFactory, OtherFactory);
//
// Each test case default-constructs a factory and calls make() once; the factory is destroyed
// after the store, so it may clean up (e.g. delete a temporary file).
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::contract {

inline Timestamp at(std::int64_t seconds) {
  return from_millis(1'700'000'000'000 + seconds * 1000);
}

inline SagaRow saga(std::string id, std::string flow = "order", std::string status = "running",
                    std::uint64_t version = 1, std::string key = "") {
  SagaRow row;
  row.id = std::move(id);
  row.flow = std::move(flow);
  row.flow_version = 3;
  row.status = std::move(status);
  row.version = version;
  row.idempotency_key = std::move(key);
  row.partition = partition_of(row.id, 16);
  row.state = R"({"cursor":1,"data":{"x":"é \"quoted\""}})";
  row.created_at = at(0);
  row.updated_at = at(static_cast<std::int64_t>(version));
  return row;
}

// A write creating `row` (expected version 0).
inline SagaWrite create(SagaRow row) {
  SagaWrite w;
  w.saga = std::move(row);
  return w;
}

// A write moving `row` from `expected` to row.version.
inline SagaWrite advance(SagaRow row, std::uint64_t expected) {
  SagaWrite w;
  w.saga = std::move(row);
  w.expected_version = expected;
  return w;
}

inline std::vector<OutboxRow> commit(Store& store, std::vector<SagaWrite> writes,
                                     std::vector<std::uint64_t> published = {}) {
  CommitBatch batch;
  batch.writes = std::move(writes);
  batch.published = std::move(published);
  return store.commit(batch);
}

inline Message command(std::string id, std::string saga_id) {
  Message m;
  m.id = std::move(id);
  m.kind = MessageKind::command;
  m.type = "points.reserve";
  m.destination = "points";
  m.correlation_id = std::move(saga_id);
  m.reply_to = "orchestrator";
  m.idempotency_key = "key-" + m.id;
  m.flow = "order";
  m.step = "reserve_points";
  m.attempt = 2;
  m.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  m.body = R"({"points":10})";
  return m;
}

inline void check_same(const SagaRow& a, const SagaRow& b) {
  CHECK(a.id == b.id);
  CHECK(a.flow == b.flow);
  CHECK(a.flow_version == b.flow_version);
  CHECK(a.status == b.status);
  CHECK(a.version == b.version);
  CHECK(a.idempotency_key == b.idempotency_key);
  // The same JSON, not the same text: PostgreSQL keeps state as jsonb, which normalises spacing
  // and key order.
  CHECK(json::parse(a.state) == json::parse(b.state));
  CHECK(a.partition == b.partition);
  CHECK(a.created_at == b.created_at);
  CHECK(a.updated_at == b.updated_at);
}

inline void check_same(const Message& a, const Message& b) {
  CHECK(a.id == b.id);
  CHECK(a.kind == b.kind);
  CHECK(a.type == b.type);
  CHECK(a.destination == b.destination);
  CHECK(a.correlation_id == b.correlation_id);
  CHECK(a.reply_to == b.reply_to);
  CHECK(a.causation_id == b.causation_id);
  CHECK(a.idempotency_key == b.idempotency_key);
  CHECK(a.outcome == b.outcome);
  CHECK(a.error_code == b.error_code);
  CHECK(a.flow == b.flow);
  CHECK(a.step == b.step);
  CHECK(a.attempt == b.attempt);
  CHECK(a.traceparent == b.traceparent);
  CHECK(a.body == b.body);
}

inline std::vector<std::string> ids(const std::vector<SagaRow>& rows) {
  std::vector<std::string> out;
  for (const SagaRow& r : rows) out.push_back(r.id);
  return out;
}

inline std::vector<std::string> timer_keys(const std::vector<TimerRow>& rows) {
  std::vector<std::string> out;
  for (const TimerRow& r : rows) out.push_back(r.saga_id + "/" + r.key);
  return out;
}

}  // namespace sagaflow::contract

// ---------------------------------------------------------------------------------------------

TEST_CASE_TEMPLATE_DEFINE("store contract: a saga round-trips every field", F,
                          store_contract_roundtrip) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  CHECK_FALSE(store->load("nope").has_value());
  SagaRow row = saga("s1", "order", "running", 1, "client-key-1");
  row.created_at = from_millis(1'700'000'000'123);
  row.updated_at = from_millis(1'700'000'000'456);
  CHECK(commit(*store, {create(row)}).empty());

  auto loaded = store->load("s1");
  REQUIRE(loaded.has_value());
  check_same(*loaded, row);

  // An update changes the transition's columns; the identity columns stay as created.
  SagaRow next = row;
  next.flow_version = 4;
  next.status = "waiting";
  next.version = 2;
  next.state = R"({"cursor":2})";
  next.updated_at = from_millis(1'700'000'009'000);
  commit(*store, {advance(next, 1)});
  loaded = store->load("s1");
  REQUIRE(loaded.has_value());
  check_same(*loaded, next);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: the version check refuses stale writes", F,
                          store_contract_version) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  commit(*store, {create(saga("s1"))});
  commit(*store, {advance(saga("s1", "order", "running", 2), 1)});

  SUBCASE("an update computed from an older version") {
    try {
      commit(*store, {advance(saga("s1", "order", "failed", 2), 1)});
      FAIL("a stale update was accepted");
    } catch (const VersionConflict& e) {
      CHECK(e.saga_id == "s1");
    }
  }
  SUBCASE("an update of a saga that does not exist") {
    CHECK_THROWS_AS(commit(*store, {advance(saga("ghost", "order", "running", 2), 1)}),
                    VersionConflict);
    CHECK_FALSE(store->load("ghost").has_value());
  }
  SUBCASE("a create of a saga that exists") {
    CHECK_THROWS_AS(commit(*store, {create(saga("s1", "order", "failed", 1))}), VersionConflict);
  }
  auto loaded = store->load("s1");
  REQUIRE(loaded.has_value());
  CHECK(loaded->version == 2);
  CHECK(loaded->status == "running");
}

TEST_CASE_TEMPLATE_DEFINE("store contract: a refused batch writes nothing", F,
                          store_contract_atomic) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  SagaWrite a = create(saga("a"));
  a.outbox.push_back(command("a/cmd/1", "a"));
  a.history.push_back({"a", 1, at(1), "started", "", "{}"});
  auto first = commit(*store, {a, create(saga("b", "order", "running", 1, "kb"))});
  REQUIRE(first.size() == 1);

  // Every kind of row in the writes before and after the failing one must vanish with it.
  SagaWrite fresh = create(saga("c", "order", "running", 1, "kc"));
  fresh.history.push_back({"c", 1, at(2), "started", "", "{}"});
  fresh.outbox.push_back(command("c/cmd/1", "c"));
  fresh.timers_set.push_back({"c", "saga", at(5)});
  fresh.subscribe.push_back({"payment.succeeded", "pay-1", "c"});
  SagaWrite moved = advance(saga("a", "order", "waiting", 2), 1);
  moved.history.push_back({"a", 2, at(2), "command_sent", "reserve", "{}"});
  moved.timers_set.push_back({"a", "timeout:reserve", at(3)});
  SagaWrite stale = advance(saga("b", "order", "completed", 5), 4);
  SagaWrite after = create(saga("d"));
  after.outbox.push_back(command("d/cmd/1", "d"));

  try {
    commit(*store, {fresh, moved, stale, after}, {first[0].seq});
    FAIL("the batch with a stale write was accepted");
  } catch (const VersionConflict& e) {
    CHECK(e.saga_id == "b");
  }

  CHECK_FALSE(store->load("c").has_value());
  CHECK_FALSE(store->load("d").has_value());
  CHECK(store->load("a")->version == 1);
  CHECK(store->load("a")->status == "running");
  CHECK(store->load("b")->version == 1);
  CHECK(store->history("a").size() == 1);
  CHECK(store->history("c").empty());
  CHECK_FALSE(store->find_by_idempotency_key("order", "kc").has_value());
  CHECK_FALSE(store->find_subscriber("payment.succeeded", "pay-1").has_value());
  CHECK(store->due_timers(at(100), 100).empty());
  // The published row of the refused batch is still there, and nothing else was added.
  auto outbox = store->unpublished_outbox(100);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].message.id == "a/cmd/1");

  // The same batch without the stale write goes through.
  auto written = commit(*store, {fresh, moved, after}, {first[0].seq});
  CHECK(written.size() == 2);
  CHECK(store->load("c").has_value());
  CHECK(store->load("a")->version == 2);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: a saga created and moved on in one batch", F,
                          store_contract_same_batch) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  commit(*store, {create(saga("s1")), advance(saga("s1", "order", "waiting", 2), 1),
                  advance(saga("s1", "order", "running", 3), 2)});
  CHECK(store->load("s1")->version == 3);
  CHECK(store->load("s1")->status == "running");
  CHECK_THROWS_AS(commit(*store, {advance(saga("s1", "order", "x", 4), 3),
                                  advance(saga("s1", "order", "y", 5), 3)}),
                  VersionConflict);
  CHECK(store->load("s1")->version == 3);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: idempotency keys are unique per flow", F,
                          store_contract_idempotency) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  commit(*store, {create(saga("s1", "order", "running", 1, "k1"))});
  CHECK(store->find_by_idempotency_key("order", "k1") == std::optional<std::string>("s1"));
  CHECK_FALSE(store->find_by_idempotency_key("order", "k2").has_value());
  CHECK_FALSE(store->find_by_idempotency_key("refund", "k1").has_value());

  SUBCASE("the same key for the same flow is refused, with the whole batch") {
    SagaWrite dup = create(saga("s2", "order", "running", 1, "k1"));
    dup.outbox.push_back(command("s2/cmd/1", "s2"));
    try {
      commit(*store, {create(saga("s3")), dup});
      FAIL("a duplicate idempotency key was accepted");
    } catch (const DuplicateIdempotencyKey& e) {
      CHECK(e.flow == "order");
      CHECK(e.key == "k1");
    }
    CHECK_FALSE(store->load("s2").has_value());
    CHECK_FALSE(store->load("s3").has_value());
    CHECK(store->unpublished_outbox(10).empty());
    CHECK(store->find_by_idempotency_key("order", "k1") == std::optional<std::string>("s1"));
  }
  SUBCASE("twice in one batch") {
    CHECK_THROWS_AS(commit(*store, {create(saga("s2", "order", "running", 1, "k9")),
                                    create(saga("s3", "order", "running", 1, "k9"))}),
                    DuplicateIdempotencyKey);
    CHECK_FALSE(store->load("s2").has_value());
  }
  SUBCASE("the same key for another flow is accepted") {
    commit(*store, {create(saga("s2", "refund", "running", 1, "k1"))});
    CHECK(store->find_by_idempotency_key("refund", "k1") == std::optional<std::string>("s2"));
    CHECK(store->find_by_idempotency_key("order", "k1") == std::optional<std::string>("s1"));
  }
  SUBCASE("an empty key never conflicts") {
    commit(*store, {create(saga("s2")), create(saga("s3"))});
    commit(*store, {create(saga("s4"))});
    CHECK(store->load("s4").has_value());
    CHECK_FALSE(store->find_by_idempotency_key("order", "").has_value());
  }
}

TEST_CASE_TEMPLATE_DEFINE("store contract: history is kept in order", F, store_contract_history) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  CHECK(store->history("s1").empty());

  SagaWrite w1 = create(saga("s1"));
  w1.history.push_back({"s1", 1, at(1), "started", "", R"({"input":1})"});
  w1.history.push_back({"s1", 1, at(1), "command_sent", "reserve", R"({"attempt":1})"});
  SagaWrite other = create(saga("s2"));
  other.history.push_back({"s2", 1, at(1), "started", "", "{}"});
  commit(*store, {w1, other});
  SagaWrite w2 = advance(saga("s1", "order", "running", 2), 1);
  w2.history.push_back({"s1", 2, at(2), "reply_received", "reserve", R"({"ok":true})"});
  commit(*store, {w2});

  auto h = store->history("s1");
  REQUIRE(h.size() == 3);
  CHECK(h[0].kind == "started");
  CHECK(h[0].step.empty());
  CHECK(h[0].detail == R"({"input":1})");
  CHECK(h[1].kind == "command_sent");
  CHECK(h[1].step == "reserve");
  CHECK(h[2].kind == "reply_received");
  CHECK(h[2].saga_id == "s1");
  CHECK(h[2].saga_version == 2);
  CHECK(h[2].at == at(2));
  CHECK(store->history("s2").size() == 1);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: the outbox", F, store_contract_outbox) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  Message reply = command("s2/cmd/1/reply", "s2");
  reply.kind = MessageKind::reply;
  reply.causation_id = "s2/cmd/1";
  reply.outcome = ReplyOutcome::business_failure;
  reply.error_code = "InsufficientPoints";
  Message event = command("s1/evt/1", "s1");
  event.kind = MessageKind::event;
  event.outcome = ReplyOutcome::technical_error;

  SagaWrite a = create(saga("s1"));
  a.outbox = {command("s1/cmd/1", "s1"), event};
  SagaWrite b = create(saga("s2"));
  b.outbox = {reply};
  auto written = commit(*store, {a, b});

  // Returned in the order of the writes, seqs increasing, every field kept.
  REQUIRE(written.size() == 3);
  CHECK(written[0].message.id == "s1/cmd/1");
  CHECK(written[1].message.id == "s1/evt/1");
  CHECK(written[2].message.id == "s2/cmd/1/reply");
  CHECK(written[0].seq < written[1].seq);
  CHECK(written[1].seq < written[2].seq);
  auto pending = store->unpublished_outbox(100);
  REQUIRE(pending.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(pending[i].seq == written[i].seq);
    check_same(pending[i].message, written[i].message);
  }
  check_same(pending[1].message, event);
  check_same(pending[2].message, reply);
  CHECK(store->unpublished_outbox(2).size() == 2);

  // Published rows go in the next commit; seqs keep increasing even once the outbox is empty.
  SagaWrite c = advance(saga("s1", "order", "running", 2), 1);
  c.outbox = {command("s1/cmd/2", "s1")};
  auto more = commit(*store, {c}, {written[0].seq, written[2].seq});
  REQUIRE(more.size() == 1);
  CHECK(more[0].seq > written[2].seq);
  pending = store->unpublished_outbox(100);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].message.id == "s1/evt/1");
  CHECK(pending[1].message.id == "s1/cmd/2");

  commit(*store, {}, {pending[0].seq, pending[1].seq});
  CHECK(store->unpublished_outbox(100).empty());
  SagaWrite d = advance(saga("s1", "order", "running", 3), 2);
  d.outbox = {command("s1/cmd/3", "s1")};
  auto last = commit(*store, {d});
  REQUIRE(last.size() == 1);
  CHECK(last[0].seq > more[0].seq);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: timers", F, store_contract_timers) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  SagaWrite a = create(saga("a"));
  a.timers_set = {{"a", "saga", at(100)}, {"a", "timeout:reserve", at(10)}};
  SagaWrite b = create(saga("b"));
  b.timers_set = {{"b", "retry:reserve", at(5)}, {"b", "saga", at(10)}};
  commit(*store, {a, b});

  CHECK(store->due_timers(at(4), 10).empty());
  // Earliest first; ties in a stable order (saga id, key).
  CHECK(timer_keys(store->due_timers(at(10), 10)) ==
        std::vector<std::string>{"b/retry:reserve", "a/timeout:reserve", "b/saga"});
  CHECK(timer_keys(store->due_timers(at(10), 2)) ==
        std::vector<std::string>{"b/retry:reserve", "a/timeout:reserve"});
  auto due = store->due_timers(at(5), 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].due == at(5));

  // Setting again replaces; clearing removes; re-arming in one transition (clear + set) keeps
  // the new one.
  SagaWrite a2 = advance(saga("a", "order", "running", 2), 1);
  a2.timers_set = {{"a", "timeout:reserve", at(50)}, {"a", "saga", at(1)}};
  a2.timers_cleared = {"saga"};
  SagaWrite b2 = advance(saga("b", "order", "running", 2), 1);
  b2.timers_cleared = {"retry:reserve", "never-set"};
  commit(*store, {a2, b2});
  CHECK(timer_keys(store->due_timers(at(1000), 10)) ==
        std::vector<std::string>{"a/saga", "b/saga", "a/timeout:reserve"});
  CHECK(store->due_timers(at(1000), 10)[2].due == at(50));
}

TEST_CASE_TEMPLATE_DEFINE("store contract: an attempt's timer starts when its command is confirmed",
                          F, store_contract_attempt_timers) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  using namespace std::chrono_literals;
  F factory;
  auto store = factory.make();
  auto not_started = [](std::string saga_id, std::string key, std::string command) {
    return TimerRow{.saga_id = std::move(saga_id),
                    .key = std::move(key),
                    .due = kNotStarted,
                    .started_by = std::move(command),
                    .runs_for = 30s};
  };
  auto sent = [](std::string saga_id, std::string command, Timestamp when) {
    return CommandSent{std::move(saga_id), std::move(command), when};
  };
  auto batch_of = [](std::vector<SagaWrite> writes, std::vector<CommandSent> confirmed,
                     std::vector<std::uint64_t> published = {}) {
    CommitBatch batch;
    batch.writes = std::move(writes);
    batch.sent = std::move(confirmed);
    batch.published = std::move(published);
    return batch;
  };

  SagaWrite a = create(saga("a"));
  a.outbox = {command("a/step/do/1", "a")};
  a.timers_set = {not_started("a", "step:step", "a/step/do/1"), {"a", "saga", at(100)}};
  SagaWrite b = create(saga("b"));
  // Not started, whatever due it was given: the command decides.
  TimerRow b_timer = not_started("b", "step:step", "b/step/do/1");
  b_timer.due = at(1);
  b.timers_set = {b_timer};
  auto rows = commit(*store, {a, b});
  REQUIRE(rows.size() == 1);

  // Not started: never due.
  CHECK(timer_keys(store->due_timers(at(10'000'000), 10)) == std::vector<std::string>{"a/saga"});
  CHECK(store->due_timers(kNotStarted - 1ms, 10).size() == 1);

  // The confirm's commit deletes the published row and starts the timer: due 30 s after it.
  store->commit(batch_of({}, {sent("a", "a/step/do/1", at(10))}, {rows[0].seq}));
  CHECK(store->unpublished_outbox(10).empty());
  CHECK(store->due_timers(at(39), 10).empty());
  auto due = store->due_timers(at(40), 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].key == "step:step");
  CHECK(due[0].due == at(40));

  // Confirmed again (published again after a crash): it has started already, nothing moves.
  store->commit(batch_of({}, {sent("a", "a/step/do/1", at(20))}));
  CHECK(store->due_timers(at(40), 10).size() == 1);

  // A confirm of another command (an earlier attempt), or of a saga or command without a timer,
  // starts nothing; the first of two confirms of one command in a batch counts.
  SagaWrite b2 = advance(saga("b", "order", "running", 2), 1);
  b2.timers_set = {not_started("b", "step:step", "b/step/do/2")};
  store->commit(
      batch_of({b2}, {sent("b", "b/step/do/1", at(5)), sent("ghost", "ghost/x/do/1", at(5)),
                      sent("a", "a/other/do/1", at(5))}));
  CHECK(timer_keys(store->due_timers(at(10'000'000), 10)) ==
        std::vector<std::string>{"a/step:step", "a/saga"});
  store->commit(batch_of({}, {sent("b", "b/step/do/2", at(50)), sent("b", "b/step/do/2", at(60))}));
  due = store->due_timers(at(80), 10);
  REQUIRE(due.size() == 2);
  CHECK(due[1].saga_id == "b");
  CHECK(due[1].due == at(80));

  // In one batch, the writes come first: a timer the batch clears is not started by a confirm in
  // it, and one the batch sets is.
  SagaWrite c = create(saga("c"));
  c.timers_set = {not_started("c", "step:one", "c/one/do/1"),
                  not_started("c", "step:two", "c/two/do/1")};
  store->commit(batch_of({c}, {}));
  SagaWrite c2 = advance(saga("c", "order", "running", 2), 1);
  c2.timers_cleared = {"step:one"};
  SagaWrite d = create(saga("d"));
  d.timers_set = {not_started("d", "step:step", "d/step/do/1")};
  store->commit(batch_of({c2, d}, {sent("c", "c/one/do/1", at(1)), sent("c", "c/two/do/1", at(1)),
                                   sent("d", "d/step/do/1", at(2))}));
  CHECK(timer_keys(store->due_timers(at(32), 10)) ==
        std::vector<std::string>{"c/step:two", "d/step:step"});
}

TEST_CASE_TEMPLATE_DEFINE(
    "store contract: a refused batch neither deletes published rows nor "
    "starts their timers",
    F, store_contract_attempt_timers_atomic) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  using namespace std::chrono_literals;
  F factory;
  auto store = factory.make();
  SagaWrite a = create(saga("a"));
  a.outbox = {command("a/step/do/1", "a")};
  a.timers_set = {{.saga_id = "a",
                   .key = "step:step",
                   .due = kNotStarted,
                   .started_by = "a/step/do/1",
                   .runs_for = 30s}};
  auto rows = commit(*store, {a});
  REQUIRE(rows.size() == 1);

  CommitBatch batch;
  batch.writes = {advance(saga("a", "order", "running", 3), 2)};  // stale
  batch.published = {rows[0].seq};
  batch.sent = {CommandSent{"a", "a/step/do/1", at(1)}};
  CHECK_THROWS_AS(store->commit(batch), VersionConflict);
  // Both or neither: the row is still to be published, and the timer still waits for it.
  CHECK(store->unpublished_outbox(10).size() == 1);
  CHECK(store->due_timers(at(10'000), 10).empty());

  batch.writes.clear();
  store->commit(batch);
  CHECK(store->unpublished_outbox(10).empty());
  CHECK(timer_keys(store->due_timers(at(31), 10)) == std::vector<std::string>{"a/step:step"});
}

TEST_CASE_TEMPLATE_DEFINE("store contract: subscriptions route events", F,
                          store_contract_subscriptions) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  SagaWrite a = create(saga("a"));
  a.subscribe = {{"payment.succeeded", "pay-1", "a"}, {"payment.failed", "pay-1", "a"}};
  commit(*store, {a});
  CHECK(store->find_subscriber("payment.succeeded", "pay-1") == std::optional<std::string>("a"));
  CHECK(store->find_subscriber("payment.failed", "pay-1") == std::optional<std::string>("a"));
  CHECK_FALSE(store->find_subscriber("payment.succeeded", "pay-2").has_value());

  // Another saga taking the same (event, key) over replaces the route; the first saga's
  // unsubscribe then leaves the new owner's route alone.
  SagaWrite b = create(saga("b"));
  b.subscribe = {{"payment.succeeded", "pay-1", "b"}};
  commit(*store, {b});
  CHECK(store->find_subscriber("payment.succeeded", "pay-1") == std::optional<std::string>("b"));

  SagaWrite a2 = advance(saga("a", "order", "running", 2), 1);
  a2.unsubscribe = {{"payment.succeeded", "pay-1", "a"}, {"payment.failed", "pay-1", "a"}};
  commit(*store, {a2});
  CHECK(store->find_subscriber("payment.succeeded", "pay-1") == std::optional<std::string>("b"));
  CHECK_FALSE(store->find_subscriber("payment.failed", "pay-1").has_value());
}

TEST_CASE_TEMPLATE_DEFINE("store contract: load_unfinished and list", F, store_contract_queries) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  std::vector<SagaWrite> writes;
  const std::vector<std::pair<std::string, std::string>> sagas = {
      {"order", "running"},   {"order", "completed"}, {"refund", "compensated"},
      {"order", "cancelled"}, {"refund", "failed"},   {"order", "compensating"},
      {"order", "waiting"},   {"refund", "running"}};
  for (std::size_t i = 0; i < sagas.size(); ++i) {
    SagaRow row = saga("s" + std::to_string(i), sagas[i].first, sagas[i].second);
    row.created_at = at(static_cast<std::int64_t>(i));
    row.updated_at = at(100 - static_cast<std::int64_t>(i % 4));  // ties on purpose
    writes.push_back(create(row));
  }
  commit(*store, writes);

  // Oldest first, so that recovery resumes sagas in the order they started.
  CHECK(ids(store->load_unfinished()) == std::vector<std::string>{"s0", "s4", "s5", "s6", "s7"});

  // Newest first by creation.
  CHECK(ids(store->list({})) ==
        std::vector<std::string>{"s7", "s6", "s5", "s4", "s3", "s2", "s1", "s0"});
  CHECK(ids(store->list({.flow = "order"})) ==
        std::vector<std::string>{"s6", "s5", "s3", "s1", "s0"});
  CHECK(ids(store->list({.status = "running"})) == std::vector<std::string>{"s7", "s0"});
  CHECK(ids(store->list({.flow = "refund", .status = "running"})) ==
        std::vector<std::string>{"s7"});
  CHECK(ids(store->list({.flow = "order", .limit = 2})) == std::vector<std::string>{"s6", "s5"});
  CHECK(store->list({.flow = "nothing"}).empty());
  // A time range: from inclusive, before exclusive.
  CHECK(ids(store->list({.created_from = at(2), .created_before = at(5)})) ==
        std::vector<std::string>{"s4", "s3", "s2"});
  CHECK(ids(store->list({.flow = "order", .created_from = at(3)})) ==
        std::vector<std::string>{"s6", "s5", "s3"});

  // A saga that finishes leaves the unfinished set and keeps its place in the list.
  SagaRow done = saga("s0", "order", "completed", 2);
  done.updated_at = at(500);
  commit(*store, {advance(done, 1)});
  CHECK(ids(store->load_unfinished()) == std::vector<std::string>{"s4", "s5", "s6", "s7"});
  CHECK(ids(store->list({.status = "completed"})) == std::vector<std::string>{"s1", "s0"});
}

TEST_CASE_TEMPLATE_DEFINE("store contract: list pages by cursor and finds a business key", F,
                          store_contract_pages) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();

  // Five sagas created in the same millisecond and two later: the id orders the ties.
  std::vector<SagaWrite> writes;
  for (int i = 0; i < 7; ++i) {
    SagaRow row =
        saga("p" + std::to_string(i), "order", "running", 1, "order-" + std::to_string(i));
    row.created_at = at(i < 5 ? 10 : i * 10);
    writes.push_back(create(row));
  }
  commit(*store, writes);

  std::vector<std::string> seen;
  std::optional<SagaCursor> after;
  for (int page = 0; page < 10; ++page) {
    auto rows = store->list({.after = after, .limit = 3});
    if (rows.empty()) break;
    CHECK(rows.size() <= 3);
    for (const auto& row : rows) seen.push_back(row.id);
    after = SagaCursor{rows.back().created_at, rows.back().id};
  }
  CHECK(seen == std::vector<std::string>{"p6", "p5", "p4", "p3", "p2", "p1", "p0"});
  // A saga added while paging lands on the first page, never in the middle of a later one.
  SagaRow late = saga("p9", "order");
  late.created_at = at(1000);
  commit(*store, {create(late)});
  CHECK(ids(store->list({.after = SagaCursor{at(10), "p3"}, .limit = 10})) ==
        std::vector<std::string>{"p2", "p1", "p0"});

  CHECK(ids(store->list({.key = "order-4"})) == std::vector<std::string>{"p4"});
  CHECK(store->list({.key = "order-404"}).empty());
}

TEST_CASE_TEMPLATE_DEFINE("store contract: counts by flow and status", F, store_contract_counts) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  CHECK(store->count_by_flow_and_status().empty());

  commit(*store, {create(saga("a", "order", "running")), create(saga("b", "order", "running")),
                  create(saga("c", "order", "failed")), create(saga("d", "refund", "running"))});
  CHECK(store->count_by_flow_and_status() == std::vector<SagaCount>{{"order", "failed", 1},
                                                                    {"order", "running", 2},
                                                                    {"refund", "running", 1}});
  commit(*store, {advance(saga("a", "order", "completed", 2), 1)});
  CHECK(store->count_by_flow_and_status() == std::vector<SagaCount>{{"order", "completed", 1},
                                                                    {"order", "failed", 1},
                                                                    {"order", "running", 1},
                                                                    {"refund", "running", 1}});
  // A refused batch counts nothing; a write that keeps its status moves no count; a status that
  // empties disappears.
  CHECK_THROWS_AS(commit(*store, {create(saga("e", "refund", "running")),
                                  advance(saga("b", "order", "completed", 9), 7)}),
                  VersionConflict);
  commit(*store, {advance(saga("b", "order", "running", 2), 1),
                  advance(saga("d", "refund", "compensated", 2), 1),
                  create(saga("f", "refund", "running"))});
  CHECK(store->count_by_flow_and_status() == std::vector<SagaCount>{{"order", "completed", 1},
                                                                    {"order", "failed", 1},
                                                                    {"order", "running", 1},
                                                                    {"refund", "compensated", 1},
                                                                    {"refund", "running", 1}});
  commit(*store, {advance(saga("f", "refund", "completed", 2), 1)});
  CHECK(store->count_by_flow_and_status() == std::vector<SagaCount>{{"order", "completed", 1},
                                                                    {"order", "failed", 1},
                                                                    {"order", "running", 1},
                                                                    {"refund", "compensated", 1},
                                                                    {"refund", "completed", 1}});
}

TEST_CASE_TEMPLATE_DEFINE("store contract: a deployed flow version never changes", F,
                          store_contract_flow_definitions) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  CHECK(store->flow_definitions().empty());

  store->save_flow_definition({"order", 2, "name: order\nversion: 2\n", at(2)});
  store->save_flow_definition({"order", 1, "name: order\n", at(1)});
  store->save_flow_definition({"alpha", 1, "name: alpha\n", at(3)});
  // The same text again (a retried deploy, a second orchestrator) is fine.
  store->save_flow_definition({"order", 1, "name: order\n", at(9)});
  CHECK_THROWS_AS(store->save_flow_definition({"order", 1, "name: order # changed\n", at(9)}),
                  FlowVersionExists);

  auto all = store->flow_definitions();
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "alpha");
  CHECK(all[1].name == "order");
  CHECK(all[1].version == 1);
  CHECK(all[1].source == "name: order\n");
  CHECK(all[1].deployed_at == at(1));  // the first deploy's time stays
  CHECK(all[2].version == 2);
}

TEST_CASE_TEMPLATE_DEFINE("store contract: the audit log pages newest first", F,
                          store_contract_audit) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  CHECK(store->audit(std::nullopt, 10).empty());
  for (int i = 1; i <= 5; ++i) {
    store->append_audit(AuditEntry{.at = at(i),
                                   .actor = "ops-" + std::to_string(i),
                                   .action = "POST /api/sagas/s" + std::to_string(i) + "/pause",
                                   .reason = i == 3 ? "stuck payment" : "",
                                   .request = R"({"reason":"x"})",
                                   .result_status = i == 4 ? 409 : 200,
                                   .result = R"({"ok":true})"});
  }
  auto first = store->audit(std::nullopt, 2);
  REQUIRE(first.size() == 2);
  CHECK(first[0].actor == "ops-5");
  CHECK(first[1].actor == "ops-4");
  CHECK(first[1].result_status == 409);
  CHECK(first[0].seq > first[1].seq);
  auto second = store->audit(first[1].seq, 2);
  REQUIRE(second.size() == 2);
  CHECK(second[0].actor == "ops-3");
  CHECK(second[0].reason == "stuck payment");
  CHECK(second[0].at == at(3));
  CHECK(second[0].action == "POST /api/sagas/s3/pause");
  CHECK(second[0].request == R"({"reason":"x"})");
  CHECK(second[0].result == R"({"ok":true})");
  auto last = store->audit(second[1].seq, 10);
  REQUIRE(last.size() == 1);
  CHECK(last[0].actor == "ops-1");
}

TEST_CASE_TEMPLATE_DEFINE("store contract: paused flows", F, store_contract_paused_flows) {
  F factory;
  auto store = factory.make();
  CHECK(store->paused_flows().empty());
  store->set_flow_paused("order", true);
  store->set_flow_paused("alpha", true);
  store->set_flow_paused("order", true);  // pausing twice is one pause
  CHECK(store->paused_flows() == std::vector<std::string>{"alpha", "order"});
  store->set_flow_paused("order", false);
  store->set_flow_paused("never", false);  // resuming a running flow changes nothing
  CHECK(store->paused_flows() == std::vector<std::string>{"alpha"});
}

TEST_CASE_TEMPLATE_DEFINE("store contract: schedules", F, store_contract_schedules) {
  using namespace sagaflow;
  F factory;
  auto store = factory.make();
  CHECK(store->schedules().empty());
  const ScheduleRow nightly{.name = "nightly",
                            .flow = "report",
                            .cron = "30 2 * * *",
                            .zone = "Europe/Berlin",
                            .overlap = "skip",
                            .input = R"({"kind":"daily"})",
                            .deployed_at = from_millis(1'000)};
  store->save_schedule(nightly);
  store->save_schedule(ScheduleRow{
      .name = "alpha", .flow = "f", .cron = "* * * * *", .deployed_at = from_millis(5)});
  auto rows = store->schedules();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].name == "alpha");  // by name
  CHECK(rows[1].flow == "report");
  CHECK(rows[1].cron == "30 2 * * *");
  CHECK(rows[1].zone == "Europe/Berlin");
  CHECK(rows[1].overlap == "skip");
  CHECK(json::parse(rows[1].input) == json::parse(R"({"kind":"daily"})"));
  CHECK_FALSE(rows[1].paused);
  CHECK(rows[1].deployed_at == from_millis(1'000));
  CHECK_FALSE(rows[1].last_fire.has_value());
  CHECK(rows[1].last_outcome.empty());
  CHECK(rows[1].last_saga.empty());

  // A firing is recorded only when later than the last one.
  store->record_schedule_fire("nightly", from_millis(60'000), "started", "s1");
  store->record_schedule_fire("nightly", from_millis(60'000), "started", "s2");
  store->record_schedule_fire("nightly", from_millis(30'000), "skipped", "s0");
  store->record_schedule_fire("nobody", from_millis(60'000), "started", "s9");
  CHECK(store->set_schedule_paused("nightly", true));
  CHECK_FALSE(store->set_schedule_paused("nobody", true));
  // A deploy again replaces the definition and keeps paused, deployed_at and the last firing.
  auto again = nightly;
  again.cron = "0 3 * * *";
  again.overlap = "allow";
  again.deployed_at = from_millis(9'999'999);
  store->save_schedule(again);
  rows = store->schedules();
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].cron == "0 3 * * *");
  CHECK(rows[1].overlap == "allow");
  CHECK(rows[1].paused);
  CHECK(rows[1].deployed_at == from_millis(1'000));
  CHECK(rows[1].last_fire == from_millis(60'000));
  CHECK(rows[1].last_outcome == "started");
  CHECK(rows[1].last_saga == "s1");
  store->record_schedule_fire("nightly", from_millis(120'000), "skipped", "s1");
  CHECK(store->schedules()[1].last_outcome == "skipped");
  CHECK(store->set_schedule_paused("nightly", false));
  CHECK_FALSE(store->schedules()[1].paused);

  CHECK(store->remove_schedule("nightly"));
  CHECK_FALSE(store->remove_schedule("nightly"));
  rows = store->schedules();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].name == "alpha");
}

#include "contract/retention_contract.hpp"

// Instantiates every contract case above for the given factory types (each also needs a
// TYPE_TO_STRING, for readable test names).

#define SAGAFLOW_STORE_CONTRACT(...)                                            \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_roundtrip, __VA_ARGS__);             \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_version, __VA_ARGS__);               \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_atomic, __VA_ARGS__);                \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_same_batch, __VA_ARGS__);            \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_idempotency, __VA_ARGS__);           \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_history, __VA_ARGS__);               \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_outbox, __VA_ARGS__);                \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_timers, __VA_ARGS__);                \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_attempt_timers, __VA_ARGS__);        \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_attempt_timers_atomic, __VA_ARGS__); \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_subscriptions, __VA_ARGS__);         \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_queries, __VA_ARGS__);               \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_pages, __VA_ARGS__);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_counts, __VA_ARGS__);                \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_flow_definitions, __VA_ARGS__);      \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_audit, __VA_ARGS__);                 \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_paused_flows, __VA_ARGS__);          \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_schedules, __VA_ARGS__);             \
  SAGAFLOW_RETENTION_CONTRACT(__VA_ARGS__)
