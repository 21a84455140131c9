#pragma once
// Parses and verifies posted flows (POST /api/flows, /api/flows/lint) on threads of their own,
// so that a hostile flow can stall neither the admin endpoint's I/O thread nor the
// orchestrator: the endpoint keeps answering /healthz and the sagas keep running.
//
// A small fixed set of threads takes checks from a bounded queue; a check waits for a thread
// within the request's time budget. The caller polls its FlowCheck and, when the budget is
// spent, abandons it: the request is answered at its deadline whatever the parser does.
//
// A parser that never returns keeps its thread for good: C++ cannot stop a thread from the
// outside, so a stuck thread is given up for lost (logged, counted in stuck()) and never
// joined, not even by the destructor; it holds only its own copy of the text and the shared
// state below. Once every thread is stuck, checks are refused at once (503) until a parser
// returns after all or the daemon restarts; the endpoint's other routes and the sagas go on.
// The memory such a thread may take is bounded only by the loader's own limits and the
// endpoint's body limit (1 MiB): the parser behind the loader must not grow without bound.
//
// Threading: every member may be called from any thread.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sagaflow/flow/loader.hpp"

namespace sagaflow::http {

struct FlowCheckOptions {
  std::size_t threads = 2;
  // Checks waiting for a thread; one more is refused (503 with Retry-After).
  std::size_t queue = 8;
  // From the request's arrival to its answer: time waiting in the queue included.
  std::chrono::milliseconds budget{2'000};
  // Loads and verifies one posted flow; empty: flow::load_flow_text. Tests give a parser that
  // never returns.
  std::function<flow::LoadResult(std::string_view text)> load;
};

// One posted flow on its way through a thread.
class FlowCheck {
 public:
  enum class State { queued, running, done, abandoned };

  State state() const { return state_.load(std::memory_order_acquire); }
  // Set once state() is done.
  const flow::LoadResult& result() const { return result_; }
  const std::string& text() const { return text_; }

 private:
  friend class FlowChecker;
  explicit FlowCheck(std::string text) : text_(std::move(text)) {}

  std::string text_;
  flow::LoadResult result_;  // written before state_ becomes done
  std::atomic<State> state_{State::queued};
};

class FlowChecker {
 public:
  explicit FlowChecker(FlowCheckOptions options = {});
  // Stops the idle threads; a stuck one is left to itself (see above).
  ~FlowChecker();
  FlowChecker(const FlowChecker&) = delete;
  FlowChecker& operator=(const FlowChecker&) = delete;

  enum class Refusal { queue_full, all_stuck };
  struct Submitted {
    std::shared_ptr<FlowCheck> check;  // null when refused
    Refusal refusal = Refusal::queue_full;
  };
  Submitted submit(std::string text);

  // The caller's deadline passed: the check's result will not be read. A check still queued
  // never runs; one running is counted stuck until its parser returns, if ever. Returns the
  // state it found: queued, running, or done when the result came in time after all.
  FlowCheck::State abandon(const std::shared_ptr<FlowCheck>& check);

  const FlowCheckOptions& options() const { return options_; }
  // Threads running a check whose caller gave up on it.
  std::size_t stuck() const;

 private:
  struct Shared;
  FlowCheckOptions options_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace sagaflow::http
