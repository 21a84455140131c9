#pragma once
// Drives the pure engine with a manual clock and records each transition's effects, so that a
// test reads like the saga's conversation: start, see the command, answer it, see the next.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/engine.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::testing {

inline std::shared_ptr<const flow::Flow> load_test_flow(std::string_view yaml) {
  auto result = flow::load_flow_text(yaml, "test.yaml");
  for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
  REQUIRE(result.ok());
  return result.flow;
}

class EngineHarness {
 public:
  explicit EngineHarness(std::string_view yaml) { plan = flows.add(load_test_flow(yaml)); }

  // `hold`: the start of a paused flow (stored paused, started at resume).
  // `start_at`: a delayed start (stored pending, started by its "start" timer).
  void start(json::value input, std::string idempotency_key = {}, bool hold = false,
             std::optional<Timestamp> start_at = std::nullopt) {
    last = {};
    saga = engine.start(plan,
                        StartRequest{.flow = plan->flow().name,
                                     .input = std::move(input),
                                     .idempotency_key = std::move(idempotency_key),
                                     .saga_id = "s1",
                                     .hold = hold,
                                     .start_at = start_at},
                        clock.now(), last);
    book_timers();
  }

  // The command (or event) of the given type the last transition sent.
  Message sent(std::string_view type) const {
    auto it = std::find_if(last.outbox.begin(), last.outbox.end(),
                           [&](const Message& m) { return m.type == type; });
    if (it == last.outbox.end())
      FAIL("nothing of type " << type << " was sent; sent: " << sent_types());
    return *it;
  }

  std::string sent_types() const {
    std::string out;
    for (const auto& m : last.outbox) out += (out.empty() ? "" : ",") + m.type;
    return out;
  }

  void reply(const Message& command, ReplyOutcome outcome, json::value payload = json::object{},
             std::string code = {}) {
    deliver(
        worker::make_reply(command, worker::Result{outcome, std::move(code), std::move(payload)}));
  }
  void ok(const Message& command, json::value payload = json::object{}) {
    reply(command, ReplyOutcome::success, std::move(payload));
  }
  void business_failure(const Message& command, std::string code) {
    reply(command, ReplyOutcome::business_failure, json::object{}, std::move(code));
  }
  void technical_error(const Message& command, std::string code = "Unavailable") {
    reply(command, ReplyOutcome::technical_error, json::object{}, std::move(code));
  }
  void deliver(const Message& reply) {
    last = {};
    engine.on_reply(*saga, reply, clock.now(), last);
    book_timers();
  }

  void event(std::string type, json::value payload, std::string id) {
    Message e;
    e.kind = MessageKind::event;
    e.id = std::move(id);
    e.type = std::move(type);
    e.body = json::serialize(payload);
    last = {};
    engine.on_event(*saga, e, clock.now(), last);
    book_timers();
  }

  // Advances the manual clock to the timer's due time and fires it.
  // `hold`: the timer comes due while the saga's flow is paused.
  void fire(std::string_view key, bool hold = false) {
    auto due = timers.find(std::string(key));
    REQUIRE_MESSAGE(due != timers.end(), "no timer " << key);
    clock.set(due->second);
    last = {};
    engine.on_timer(*saga, key, clock.now(), last, hold);
    book_timers();
  }

  void cancel(std::string_view reason = "test") {
    last = {};
    engine.cancel(*saga, reason, clock.now(), last);
    book_timers();
  }

  void retry() {
    last = {};
    engine.retry(*saga, clock.now(), last);
    book_timers();
  }

  void pause(std::string_view reason = "test") {
    last = {};
    engine.pause(*saga, reason, clock.now(), last);
    book_timers();
  }

  void resume() {
    last = {};
    engine.resume(*saga, clock.now(), last);
    book_timers();
  }

  // Stores and reads the saga back, as a restarted orchestrator would.
  void reload() { saga = from_row(to_row(*saga), flows); }

  std::vector<std::string> history_kinds() const {
    std::vector<std::string> kinds;
    for (const auto& h : last.history) kinds.push_back(h.kind);
    return kinds;
  }

  bool has_history(std::string_view kind) const {
    return std::any_of(last.history.begin(), last.history.end(),
                       [&](const HistoryRow& h) { return h.kind == kind; });
  }

  Status status() const { return saga->status; }

  FlowRegistry flows;
  std::shared_ptr<const Plan> plan;
  Engine engine;
  ManualClock clock;
  std::unique_ptr<SagaState> saga;
  SagaWrite last;
  // The due time of every timer currently set, maintained from the transitions' effects. An
  // attempt's timer starts at once, as if the transport confirmed its command instantly.
  std::map<std::string, Timestamp> timers;

 private:
  void book_timers() {
    for (const auto& key : last.timers_cleared) timers.erase(key);
    for (const auto& t : last.timers_set) {
      timers[t.key] = t.started_by.empty() ? t.due : clock.now() + t.runs_for;
    }
  }
};

}  // namespace sagaflow::testing
