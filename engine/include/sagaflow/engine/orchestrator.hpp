#pragma once
// The orchestrator runs the engine over the ports and keeps the rule that loses nothing:
// every change is committed before anything it causes is sent, and every input is
// acknowledged only after the change it caused is committed.
//
// One round (run_once): gather inputs (operator requests, replies and events from the
// transport, due timers from the store); let the engine compute each saga's transition; commit
// all of them in one transaction (group commit); publish the outbox; acknowledge the inputs.
//
// Threading: run_once/run/recover on one thread only (the orchestrator is the single writer of
// its sagas and caches them). start/cancel/retry may be called from any thread.
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/metrics.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

struct OrchestratorOptions {
  std::size_t max_batch = 4096;  // inputs per round, hence per transaction
  Duration idle_wait{5};         // how long a round waits for input when there is none
  Duration timer_poll{20};       // how often the store is asked for due timers; 0 = every round
  EngineOptions engine;
  // Called at the named points of a round where a crash tests recovery hardest: "before_commit",
  // "after_commit" (committed, nothing published), "mid_compensation" (a committed round that
  // sends compensations, before they are published) and "after_publish" (published, inputs not
  // acknowledged). Empty in production; sagaflowd's recovery drills kill the process here
  // (SAGAFLOW_FAULT_AT, see apps/sagaflowd/config.hpp).
  std::function<void(std::string_view point)> fault_point;
  Metrics* metrics = nullptr;  // not owned; must outlive the orchestrator; nullptr = none
};

struct StartResult {
  std::string saga_id;
  bool created = true;  // false: the idempotency key had already started this saga
};

class Orchestrator {
 public:
  Orchestrator(const FlowRegistry& flows, Store& store, Transport& transport, const Clock& clock,
               OrchestratorOptions options = {});
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // Requests, fulfilled once their effect is committed. Failures arrive as exceptions:
  // InvalidInput, Refused, std::invalid_argument for an unknown flow or saga.
  std::future<StartResult> start(StartRequest request);
  std::future<void> cancel(std::string saga_id, std::string reason);
  std::future<void> retry(std::string saga_id);

  // After a (re)start, before running: publishes what was committed but not confirmed as
  // published, and, with a transport that lost what was in flight (the embedded bus),
  // sends every awaited command again with its same id.
  void recover(bool resend_in_flight);

  // One round; returns how many inputs it processed.
  std::size_t run_once(Duration wait);
  void run(std::stop_token stop);

  // Sagas held in memory (in flight); finished ones are dropped after their commit. As of the
  // last round; safe to read from any thread (a metrics scrape).
  std::size_t cached_sagas() const;
  // Outbox rows committed whose publishing failed and is not yet done again (at most one
  // round's worth is counted). Safe to read from any thread.
  std::size_t outbox_lag() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sagaflow
