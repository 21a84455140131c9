#pragma once
// The saga lifecycle: one state machine (Boost.MSM, hidden in lifecycle.cpp because it is heavy
// to compile). It decides which status changes are legal; the engine asks it before changing a
// saga's status and refuses what it refuses (e.g. cancelling a completed saga).
//
//   pending --start--> running <--resume/await--> waiting
//   running|waiting --fail--> compensating        (or failed, once past the pivot)
//   running|waiting --cancel--> compensating      (ends cancelled)
//   running --finish--> completed
//   completed --undo (its parent compensates it)--> compensating
//   compensating --compensated--> compensated | cancelled
//   compensating --stuck--> failed (parked for an operator)
//   failed --operator retry--> compensating | running
//   pending|running|waiting|compensating --pause--> paused --unpause--> the status it left
#include <cstddef>
#include <optional>
#include <string_view>

namespace sagaflow {

enum class Status : unsigned char {
  pending,
  running,
  waiting,
  compensating,
  completed,
  compensated,
  failed,  // parked: an operator must retry (or it stays visible forever)
  cancelled,
  paused,  // an operator paused it (or its flow, at its start): sends nothing until resumed
};

const char* to_string(Status status);
std::optional<Status> status_from_string(std::string_view name);
// Completed, compensated and cancelled sagas never change again.
bool is_final(Status status);

class Lifecycle {
 public:
  explicit Lifecycle(Status status);
  ~Lifecycle();
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  Status status() const;

  // Each returns false, changing nothing, when the transition is not legal from the current
  // status.
  bool start();
  bool await_events();  // only waits for outside events remain
  bool resume();        // work again besides waiting
  bool finish();
  bool fail(bool past_pivot);    // a step failed for good
  bool cancel(bool past_pivot);  // an operator or the API asked to cancel
  bool compensated(bool cancel_requested);
  bool stuck();  // a compensation failed for good: park
  bool undo();   // a completed child saga whose parent compensates it (sub-flows)
  bool operator_retry(bool parked_in_compensation);
  bool pause();
  bool unpause(Status to);  // back to the status it was paused in

 private:
  struct Machine;
  Machine& machine();
  const Machine& machine() const;
  // The machine lives inline: a Lifecycle is made for every transition and must not allocate.
  alignas(8) std::byte storage_[128];
};

}  // namespace sagaflow
