#pragma once
// What a saga is doing right now, and what an operator may do to it: each command that is out or
// waiting for its next attempt, and each wait with the events it takes. Read from the saga's state
// (which activities are open, which waits are active) and its history (when a retry was scheduled,
// when a wait began), so nothing is stored for it. Pure: no I/O.
#include <optional>
#include <string>
#include <vector>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/saga.hpp"

namespace sagaflow {

struct StepInFlight {
  std::string step;           // the activity key ("charge", "send_cvc[1]") or, for a wait, its step
  std::string phase;          // awaiting_reply, retry_backoff, compensating, compensation_backoff,
                              // waiting_event
  std::string command;        // the command's type ("billing.charge") as last sent; "" if none
  std::uint32_t attempt = 0;  // the attempt that is out, or the last one sent in a backoff
  std::optional<Timestamp> next_attempt_at;  // a backoff: when the next attempt is sent
  std::vector<std::string> events;           // a wait: the events that complete it
  std::vector<std::string> failure_events;   // a wait: the events that fail it
  std::string key;                           // a wait: the correlation value the events carry
  std::string key_path;  // a wait: where an event carries it, as written ("$event.payment_id")
  std::optional<Timestamp> timeout_at;  // a wait: when it times out
};

// Whether Engine::cancel and Engine::retry would accept the saga now (the dashboard offers
// only those; defined in engine.cpp beside them): cancel a pending saga, or a running or
// waiting one before its pivot step; retry a failed (parked) one.
bool can_cancel(const SagaState& saga);
bool can_retry(const SagaState& saga);

// Open activities in the order they were created, then the active waits. Empty for a saga that
// has ended or is parked (failed).
std::vector<StepInFlight> steps_in_flight(const SagaState& saga,
                                          const std::vector<HistoryRow>& history);

}  // namespace sagaflow
