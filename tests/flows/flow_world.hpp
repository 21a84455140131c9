#pragma once
// A whole flow, deterministically: the flow file from definitions/, the real orchestrator and
// engine over the in-memory store and a recording transport, the real participants' dispatchers,
// and a manual clock. `settle()` carries every command to its participant and every reply back
// until nothing moves, so a test reads as: start, settle, inspect; or: start, settle, send an
// outside event, advance the clock past a timeout, settle, inspect.
//
// Failures are injected per command type (`fail_next`, `drop_next`), the way a broker or a
// participant would fail, never by changing the participant's rules.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/fake_transport.hpp"
#include "sagaflow/testing/manual_clock.hpp"
#include "sagaflow/testing/memory_store.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::testing {

class FlowWorld {
 public:
  // Loads definitions/<flow>.yaml for each name given.
  explicit FlowWorld(std::initializer_list<std::string_view> flow_names) {
    for (auto name : flow_names) {
      auto path = std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/" + std::string(name) + ".yaml";
      auto result = flow::load_flow_file(path);
      for (const auto& d : result.diagnostics) MESSAGE(d.to_string());
      REQUIRE(result.ok());
      flows_.add(result.flow);
    }
  }

  // Commands whose destination is `service` go to `dispatcher` (it must outlive the world).
  void serve(const std::string& service, worker::Dispatcher& dispatcher) {
    services_[service] = &dispatcher;
  }

  // Calls `observer` for every event a saga publishes of that type (a subscriber such as bi).
  void subscribe(const std::string& event_type, std::function<void(const Message&)> observer) {
    subscribers_[event_type].push_back(std::move(observer));
  }

  std::string start(const std::string& flow, json::value input, std::string idempotency_key = {}) {
    auto started = orchestrator_.start(StartRequest{
        .flow = flow, .input = std::move(input), .idempotency_key = std::move(idempotency_key)});
    orchestrator_.run_once(std::chrono::milliseconds(0));
    auto id = started.get().saga_id;
    settle();
    return id;
  }

  // An outside event (e.g. payment.succeeded from the payments service) reaching the engine.
  void publish_event(const std::string& type, json::value payload, std::string id = {}) {
    Message m;
    m.kind = MessageKind::event;
    m.type = type;
    m.id = id.empty() ? type + "/" + std::to_string(++outside_events_) : std::move(id);
    m.body = json::serialize(payload);
    transport_.deliver(std::move(m));
    settle();
  }

  // Moves time forward (timeouts, retry backoff) and lets everything that is due happen.
  // Time stops at each timer that comes due on the way, as it would in a running daemon: a
  // retry's backoff scheduled by an earlier timer still fires within the same `advance`.
  void advance(Duration d) {
    const auto target = clock_.now() + d;
    for (;;) {
      auto due = store_.due_timers(target, 1);
      if (due.empty()) break;
      if (due.front().due > clock_.now()) clock_.set(due.front().due);
      settle();
    }
    clock_.set(target);
    settle();
  }

  // The next command of this type is answered with a technical error (the participant crashed
  // or a dependency was down); the participant itself never sees it.
  void fail_next(const std::string& command_type, int times = 1,
                 const std::string& code = "Unavailable") {
    for (int i = 0; i < times; ++i) faults_[command_type].push_back(code);
  }
  // The next command of this type is lost on the way (no reply ever comes; the step times out).
  void drop_next(const std::string& command_type, int times = 1) {
    for (int i = 0; i < times; ++i) faults_[command_type].push_back({});
  }
  // The next command of this type reaches the participant and is applied, but its reply is lost.
  void lose_reply_of_next(const std::string& command_type) { lose_reply_[command_type] += 1; }
  // Every command of this type is delivered twice (a broker redelivery).
  void duplicate(const std::string& command_type) { duplicated_.push_back(command_type); }

  // Carries messages until nothing moves: commands to participants, replies and events back.
  void settle() {
    for (int round = 0; round < 10'000; ++round) {
      orchestrator_.run_once(std::chrono::milliseconds(0));
      if (!carry()) return;
    }
    FAIL("the flow did not settle after 10000 rounds");
  }

  SagaRow saga(const std::string& id) {
    auto row = store_.load(id);
    REQUIRE(row.has_value());
    return *row;
  }
  std::string status(const std::string& id) { return saga(id).status; }
  json::value result(const std::string& id, std::string_view step) {
    return step_result(saga(id), step);
  }
  std::vector<HistoryRow> history(const std::string& id) { return store_.history(id); }

  // Command types the saga sent going forward (first attempts and retries), in order.
  std::vector<std::string> commands(const std::string& id) const {
    return messages(id, MessageKind::command, false);
  }
  // Compensation command types the saga sent, in order.
  std::vector<std::string> compensations(const std::string& id) const {
    return messages(id, MessageKind::command, true);
  }
  // Event types the saga published, in order.
  std::vector<std::string> events(const std::string& id) const {
    return messages(id, MessageKind::event, false);
  }
  // Every message the sagas published (commands, compensations, events), as sent, in order.
  const std::vector<Message>& sent() const { return sent_; }
  const std::vector<std::pair<Message, std::string>>& dead_letters() const {
    return transport_.dead_letters;
  }

  ManualClock& clock() { return clock_; }
  Orchestrator& orchestrator() { return orchestrator_; }

 private:
  // Delivers what the orchestrator published since the last call; returns whether anything was.
  bool carry() {
    if (carried_ == transport_.published.size()) return false;
    std::vector<Message> batch(transport_.published.begin() + static_cast<long>(carried_),
                               transport_.published.end());
    carried_ = transport_.published.size();
    for (const auto& m : batch) {
      sent_.push_back(m);
      if (m.kind == MessageKind::event) {
        for (auto& observer : subscribers_[m.type]) observer(m);
        if (listened(m.type)) transport_.deliver(m);  // as a broker binding would route it
        continue;
      }
      if (m.kind != MessageKind::command) continue;
      auto fault = faults_.find(m.type);
      if (fault != faults_.end() && !fault->second.empty()) {
        auto code = fault->second.front();
        fault->second.pop_front();
        if (!code.empty()) {
          transport_.deliver(
              worker::make_reply(m, worker::Result::technical_error(std::move(code))));
        }
        continue;
      }
      auto service = services_.find(m.destination);
      REQUIRE_MESSAGE(service != services_.end(), "no participant serves " << m.destination);
      auto reply = service->second->handle(m);
      if (std::find(duplicated_.begin(), duplicated_.end(), m.type) != duplicated_.end()) {
        reply = service->second->handle(m);
        transport_.deliver(reply);
      }
      if (auto lost = lose_reply_.find(m.type); lost != lose_reply_.end() && lost->second > 0) {
        --lost->second;
        continue;
      }
      transport_.deliver(std::move(reply));
    }
    return true;
  }

  bool listened(const std::string& type) const {
    for (const auto& plan : flows_.all()) {
      const auto& events = plan->listened_events();
      if (std::find(events.begin(), events.end(), type) != events.end()) return true;
    }
    return false;
  }

  std::vector<std::string> messages(const std::string& id, MessageKind kind, bool undo) const {
    std::vector<std::string> out;
    for (const auto& m : sent_) {
      if (m.correlation_id != id || m.kind != kind) continue;
      if (kind == MessageKind::command && (m.id.find("/undo/") != std::string::npos) != undo)
        continue;
      out.push_back(m.type);
    }
    return out;
  }

  FlowRegistry flows_;
  MemoryStore store_;
  FakeTransport transport_;
  ManualClock clock_;
  Orchestrator orchestrator_{flows_, store_, transport_, clock_,
                             OrchestratorOptions{.timer_poll = Duration{0}}};
  std::map<std::string, worker::Dispatcher*, std::less<>> services_;
  std::map<std::string, std::vector<std::function<void(const Message&)>>> subscribers_;
  std::map<std::string, std::deque<std::string>> faults_;
  std::map<std::string, int> lose_reply_;
  std::vector<std::string> duplicated_;
  std::vector<Message> sent_;
  std::size_t carried_ = 0;
  int outside_events_ = 0;
};

}  // namespace sagaflow::testing
