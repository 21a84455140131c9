#pragma once
// The engine: pure logic. Each call takes one input (a start, a reply, an event, a timer, an
// operator's request) and the saga's current state, moves the state on by one version, and
// appends to `out` what must be committed with it: history, outgoing messages, timer and
// subscription changes. It performs no I/O and never reads the clock itself, so a test drives
// it with a manual clock and checks every effect.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/saga.hpp"
#include "sagaflow/flow/input_contract.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow {

struct StartRequest {
  std::string flow;
  int version = 0;  // 0 = latest
  json::value input;
  std::string idempotency_key;
  std::string saga_id;  // chosen by the caller (the orchestrator generates one)
  std::string traceparent;
  // Its flow is paused: the saga is stored, paused, with its input, and starts when resumed.
  bool hold = false;
  // A child saga (sub-flows): its parent, the parent's activity key and the parent's command id
  // its end answers.
  std::string parent_id;
  std::string parent_step;
  std::string parent_command;
  // A delayed start: when later than `now`, the saga is stored `pending` with its input (checked
  // now) and a timer "start" due then, in the same commit; it starts when the timer comes due
  // (then held instead when its flow is paused at that time). Unset or not later: at once.
  std::optional<Timestamp> start_at;
};

// The start input does not satisfy the flow's input contract.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
  explicit InvalidInput(const flow::InputCheck& check)
      : std::invalid_argument(check.summary()),
        problems_(check.problems),
        omitted_(check.omitted) {}

  // Each problem with its path; empty when the input was refused with a message only.
  const std::vector<flow::InputProblem>& problems() const { return problems_; }
  // Problems found beyond those listed (see flow::kMaxInputProblems).
  std::size_t omitted() const { return omitted_; }

 private:
  std::vector<flow::InputProblem> problems_;
  std::size_t omitted_ = 0;
};

// A skip refused for what it asked: its output lacks a field the flow reads of the step
// (`output.<field>`), or it names no step of the flow (`step`).
class InvalidSkip : public InvalidInput {
 public:
  using InvalidInput::InvalidInput;
};

// An operator's request that the saga's status does not allow (e.g. cancel a completed saga).
class Refused : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Who asked for an operator's repair (skip, edit) and why: both are written into the history.
struct OperatorNote {
  std::string actor;   // the admin request's X-Sagaflow-Actor header; "" when unnamed
  std::string reason;  // "" when none was given
};

// Skip a failed step of a parked saga: the saga goes on from the next step as if the step had
// answered and its output (after its `output` mapping) were `output`. The skipped step is never
// compensated: its effect did not happen.
struct SkipRequest {
  std::string saga_id;
  std::string step;  // "" = the step the saga is parked on
  json::value output;
  OperatorNote note;
};

enum class EditMode : std::uint8_t {
  merge,    // `input` is a JSON merge patch (RFC 7386) applied to the saga's input
  replace,  // `input` is the saga's new input
};

// Edit the input of a parked saga (checked against the flow's input contract), then, unless
// `retry` is false, retry it as Engine::retry does.
struct EditRequest {
  std::string saga_id;
  json::value input;
  EditMode mode = EditMode::merge;
  bool retry = true;
  OperatorNote note;
};

// RFC 7386: members of `patch` replace those of `target`, a null member removes one, objects
// merge recursively; a patch that is not an object replaces the target.
json::value merge_patch(json::value target, const json::value& patch);

struct EngineOptions {
  std::string reply_to = "sagaflow.replies";  // where participants send replies
  std::size_t remembered_events = 64;         // per wait, to recognise duplicates
  // With several orchestrators: the partition count (partition_of). Each command's reply_to
  // then names its saga's partition, reply_to + "." + partition, so that the reply reaches the
  // orchestrator that owns the saga. 0: every reply goes to reply_to itself.
  int partitions = 0;
  // The partition count a child saga's id keeps its parent's partition in (child_saga_id). The
  // orchestrator sets it to its partition_count with or without leases, so that one store can
  // move from a single orchestrator to several while parents wait on their children.
  // 0: `partitions`.
  int child_id_partitions = 0;

  // Where the replies of the partition's sagas go: reply_to + "." + partition.
  std::string partition_reply_to(int partition) const {
    return reply_to + "." + std::to_string(partition);
  }
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});

  // A new saga, started and run until it waits for something. Throws InvalidInput.
  std::unique_ptr<SagaState> start(std::shared_ptr<const Plan> plan, const StartRequest& request,
                                   Timestamp now, SagaWrite& out) const;

  // A participant's reply. Duplicates and replies to attempts no longer current are recorded
  // and change nothing else.
  void on_reply(SagaState& saga, const Message& reply, Timestamp now, SagaWrite& out) const;
  // An outside event routed to this saga.
  void on_event(SagaState& saga, const Message& event, Timestamp now, SagaWrite& out) const;
  // A persisted timer came due. The "start" timer of a delayed start (StartRequest::start_at)
  // starts the saga; with `hold` (its flow is paused now) it is held as a paused flow's start is.
  void on_timer(SagaState& saga, std::string_view key, Timestamp now, SagaWrite& out,
                bool hold = false) const;

  // Operator requests; throw Refused when the status does not allow them.
  void cancel(SagaState& saga, std::string_view reason, Timestamp now, SagaWrite& out) const;
  void retry(SagaState& saga, Timestamp now, SagaWrite& out) const;
  // Pause: nothing more is sent; replies, events and timers that come meanwhile are recorded
  // (history "input_held") and applied when it is resumed. Running, waiting and compensating
  // sagas can be paused. Cancelling a paused saga resumes it and cancels it in one transition,
  // the cancel first, then the held inputs (they feed the compensation).
  void pause(SagaState& saga, std::string_view reason, Timestamp now, SagaWrite& out) const;
  void resume(SagaState& saga, Timestamp now, SagaWrite& out) const;
  // Refused unless the saga is parked going forward (failed, not compensating) on that step;
  // InvalidSkip (each problem with its path, `output.<field>`) when `output` lacks a field the
  // flow reads of the step, or names no step of the flow.
  void skip(SagaState& saga, const SkipRequest& request, Timestamp now, SagaWrite& out) const;
  // Refused unless the saga is failed (parked); InvalidInput when the new input does not
  // satisfy the flow's input contract.
  void edit(SagaState& saga, const EditRequest& request, Timestamp now, SagaWrite& out) const;

  // Sub-flows: carries out what another saga of the partition asks of this one (SagaLink). A
  // child asked to start again (its parent retried the step) answers its parent at once if it
  // has ended; asked to compensate, a completed child compensates (one past its pivot answers
  // that it stays, error_code "PastPivot"); asked to cancel, a running child is cancelled and
  // one that cannot be (parked, say) answers when an operator has made it end. child_ended is
  // the parent's reply (on_reply).
  void link(SagaState& saga, const SagaLink& link, Timestamp now, SagaWrite& out) const;

  // Sends again, with the same ids, every command whose reply is awaited: after a restart over
  // a transport that lost what was in flight. Participants recognise the ids.
  void resend_pending(SagaState& saga, Timestamp now, SagaWrite& out) const;

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
};

// Whether any command or compensation of the saga awaits its reply.
bool has_pending_commands(const SagaState& saga);
// The ids of the commands and compensations whose reply the saga awaits now.
std::vector<std::string> pending_command_ids(const SagaState& saga);
// Those commands as resend_pending() would send them (their service is the destination),
// computed on a copy: the saga is not changed.
std::vector<Message> pending_commands(const Engine& engine, const SagaState& saga, Timestamp now);

// Encoding of the runtime state into the stored row and back.
SagaRow to_row(const SagaState& saga);
// Throws std::runtime_error when the row's flow version is not registered or the state is
// corrupt.
std::unique_ptr<SagaState> from_row(const SagaRow& row, const FlowRegistry& flows);
// A finished step's result as recorded in the stored state (null when it has none), for
// readers that hold a row but no flow (tests, the demo, the admin API).
json::value step_result(const SagaRow& row, std::string_view step);

}  // namespace sagaflow
