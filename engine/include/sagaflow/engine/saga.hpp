#pragma once
// The runtime state of one saga. Everything the engine needs to continue after a crash is here
// and is encoded into SagaRow::state by saga_codec; nothing lives only in memory.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow {

enum class NodeStatus : std::uint8_t { pending, active, done, skipped, failed };

// One command the saga sends: a command step has one, a foreach step one per item, a wait with
// `each_event` one per accepted event.
enum class ActivityPhase : std::uint8_t {
  awaiting_reply,        // the command of `attempt` is out
  backoff,               // waiting to send the next attempt
  done,                  // succeeded: may need compensating
  failed,                // failed for good (or abandoned when the saga failed)
  compensating,          // the compensation of `attempt` is out
  compensation_backoff,  // waiting to send the next compensation attempt
  compensated,
  not_compensated,  // nothing to undo: no compensation declared, or no variant applied
};

struct Activity {
  NodeIndex node = 0;
  std::uint16_t item = 0;  // foreach element; 0 otherwise
  ActivityPhase phase = ActivityPhase::awaiting_reply;
  std::uint16_t attempt = 0;       // forward attempts sent so far (ids keep increasing)
  std::uint16_t attempt_base = 0;  // attempts before the last operator retry (budget restarts)
  std::uint16_t undo_attempt = 0;
  std::uint16_t undo_attempt_base = 0;
  bool maybe_applied = false;  // an attempt timed out: its effect is unknown, so compensate it
  // The saga's `edits` when an operator's retry last sent it; part of its idempotency key.
  std::uint16_t key_generation = 0;
};

// The state of an active wait step.
struct WaitState {
  NodeIndex node = 0;
  std::string key;                // the correlation value the events must carry
  std::vector<std::string> seen;  // message ids accepted or refused, to ignore duplicates
};

// A reply, event or timer that came while the saga was paused: recorded at once, applied in
// order when the saga is resumed.
struct HeldInput {
  std::string timer;  // the timer's key; empty for a reply or an event
  Message message;    // the reply or event (kind, id, type, causation_id, outcome, body...)
};

struct SagaState {
  std::string id;
  std::shared_ptr<const Plan> plan;
  Status status = Status::pending;
  std::uint64_t version = 0;  // as stored; the engine adds one per transition
  std::string idempotency_key;
  std::string traceparent;
  Timestamp created_at{};
  Timestamp updated_at{};

  json::value input;
  json::object steps;  // each finished step's output, by step name
  json::value meta;    // {"id", "flow", "version"}: what `$saga.…` reads

  std::vector<NodeStatus> nodes;  // one per plan node
  std::vector<Activity> activities;
  std::vector<std::uint16_t> completed;  // activities in order of completion
  std::vector<WaitState> waits;

  // Compensation walks `completed` backwards; this is how many entries remain to undo.
  std::uint32_t undo_cursor = 0;
  bool compensation_started = false;
  bool cancel_requested = false;
  int parked_activity = -1;  // the activity an operator retry sends again
  std::string failure;       // why it failed or is compensating
  // While paused: the status a resume returns to (pending for a start held by a paused flow),
  // who paused it ("operator" or "flow") and the inputs held meanwhile.
  Status paused_from = Status::running;
  std::string paused_by;
  std::vector<HeldInput> held;
  // How many times an operator edited the input. A command sent again after an edit carries
  // other data, so it gets a new idempotency key: a participant must not answer it with the
  // reply it remembers for the data before (a business failure, say).
  std::uint16_t edits = 0;
  // A delayed start (StartRequest::start_at): when it starts. Kept after the start, for readers.
  std::optional<Timestamp> start_at;

  // Sub-flows. A child saga knows its parent, the parent's activity key that started it, the
  // parent's command id its end answers now (the start's, or the compensation's once the parent
  // compensates it) and the last one it answered. A parent knows its children by activity key.
  std::string parent_id;
  std::string parent_step;
  std::string parent_command;
  std::string parent_answered;
  json::object children;  // activity key -> child saga id

  const flow::Flow& flow() const { return plan->flow(); }
};

// Activity keys name an activity in ids, timers and history: "reserve", "authorize[2]"
// (a foreach item) or "await_payment[0]" (a wait's each_event command).
std::string activity_key(const SagaState& saga, const Activity& activity);

// The id of the child saga a subflow activity starts: derived from the parent's id and the
// activity key, so that a step retried or replayed finds its child instead of starting a second
// one, and made to land in the parent's partition (a suffix "~N", the smallest N that does, when
// there are partitions) so that one orchestrator writes both.
std::string child_saga_id(std::string_view parent_id, std::string_view activity_key,
                          int partitions);

}  // namespace sagaflow
