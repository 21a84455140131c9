#pragma once
// The flow model: what a YAML flow file says, after it was loaded and verified. It mirrors the
// file (steps nest inside `parallel` branches); the engine compiles it into its own plan.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/expression.hpp"

namespace sagaflow::flow {

using Duration = std::chrono::milliseconds;

struct SourcePos {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

enum class FieldType { string, number, integer, boolean, object, array, any };

// One field of the input contract, or (nameless) the declaration of an array's items.
struct InputField {
  std::string name;
  FieldType type = FieldType::any;
  bool required = true;
  // An object's own fields, when it declares them (`fields:`); then only those are accepted,
  // unless `additional_fields` allows others. An object without `fields` accepts any object.
  std::vector<InputField> fields;
  bool fields_declared = false;
  bool additional_fields = false;
  // An array's items (`items:`), when declared; shared so that a Flow stays cheap to copy.
  std::shared_ptr<const InputField> items;
};

// What a saga's input must be: a JSON object with these fields. Without `input:` a flow has
// no contract and takes any object; with it, fields it does not declare are refused unless
// `additional_input_fields` allows them.
struct InputContract {
  std::vector<InputField> fields;
  bool declared = false;
  bool additional_fields = false;
};

struct RetryPolicy {
  std::uint32_t max_attempts = 1;  // 1 = no retry; verification refuses unbounded retries
  Duration initial_delay{200};
  double multiplier = 2.0;
  Duration max_delay{30'000};
  std::vector<std::string> non_retryable;  // business error codes that never retry

  // Backoff before attempt `next_attempt` (2, 3, ...): initial * multiplier^(n-2), capped at
  // max_delay. Defined for any values: never negative, never above max_delay, never NaN; a
  // multiplier that is not above 1 keeps the delay constant.
  Duration delay_before(std::uint32_t next_attempt) const;
  // The longest the attempts may take in all: max_attempts x attempt_timeout plus every delay
  // between them, saturating at Duration::max() instead of overflowing.
  Duration longest_run(Duration attempt_timeout) const;
  bool retryable(const std::string& error_code) const;
};

// A command sent to a participant: the message type is "<service>.<name>".
struct CommandSpec {
  std::string service;
  std::string name;
  Mapping input;
  SourcePos service_pos;  // where `service` is written (for the lint's near-miss warning)
  std::string type() const { return service + "." + name; }
};

// One way to undo a step. The first variant whose `when` holds (or that has none) runs; when
// none holds, the step needs no compensation (e.g. a hold already consumed by a capture).
struct CompensationVariant {
  std::optional<Expression> when;
  SourcePos when_pos;
  CommandSpec command;
  SourcePos pos;
};

struct Compensation {
  std::vector<CompensationVariant> variants;
  RetryPolicy retry{.max_attempts = 5};
  Duration timeout{30'000};
};

// `subflow`: starts another deployed flow as a child saga and awaits its end
// (docs/flow-language.md#subflow-steps).
enum class StepKind { command, publish, wait, parallel, foreach, subflow };

// What a failure event (e.g. payment.failed) does to a wait.
enum class FailureEventAction { compensate, keep_waiting };

// A command sent for every event a wait accepts (e.g. recording each partial payment). It reads
// the wait's result as just updated by that event; the wait ends only once each has succeeded.
struct EventCommand {
  CommandSpec command;
  RetryPolicy retry;
  Duration timeout{30'000};  // per attempt
};

struct WaitSpec {
  std::vector<std::string> events;  // event names that may complete the wait
  // The value an event must carry to belong to this saga, evaluated when the wait starts
  // (e.g. `$steps.create_payment.payment_id`).
  Expression correlate;
  // Where the event carries that value: a path into the event (e.g. `$event.paymentId`).
  Path key;
  // For waits that consume several events: the wait ends once `until` holds for an accepted
  // event. Without it the first accepted event ends the wait.
  std::optional<Expression> until;
  // An event for which `stale` holds changes nothing (e.g. `$event.paymentVersion <=
  // $steps.await_payment.paymentVersion`, the last accepted event being the step's output).
  std::optional<Expression> stale;
  std::vector<std::string> failure_events;
  FailureEventAction on_failure_event = FailureEventAction::compensate;
  Duration timeout{0};  // required by verification
  std::optional<EventCommand> each_event;
};

struct Step {
  std::string name;
  StepKind kind = StepKind::command;
  SourcePos pos;
  std::optional<Expression> when;  // skipped when false
  SourcePos when_pos;
  bool irreversible = false;  // changes state but has no compensation, on purpose
  bool pivot = false;         // once done, the saga only goes forward (failures park it)
  // Lint warnings (their codes) the author accepts at this step; docs/flow-tooling.md.
  std::vector<std::string> allow_warnings;

  // command and foreach
  CommandSpec command;
  std::optional<Mapping> output;  // what is kept of the reply; the whole reply when absent
  RetryPolicy retry;
  Duration timeout{30'000};  // per attempt
  std::optional<Compensation> compensation;

  // publish
  std::string event;
  Mapping payload;

  // wait
  WaitSpec wait;

  // parallel: each branch is a sequence of steps; the step completes when all branches did
  std::vector<std::vector<Step>> branches;

  // foreach: one command per element of `items`, each seeing the element as `$item`;
  // the step's output is the array of the items' outputs, in item order
  Path items;

  // subflow: the child's flow (started at its latest version, then pinned to it) and where it
  // is named; the child's input is `command.input`, its outputs (each of its steps' outputs by
  // step name) are this step's reply, kept through `output` as a command's reply is.
  std::string subflow;
  SourcePos subflow_pos;
};

// An outside event that starts a saga of the flow, its payload being the saga's input.
struct Trigger {
  std::string event;
  // Starts only when it holds for the event (reads `$event`).
  std::optional<Expression> when;
  SourcePos when_pos;
  // The start's idempotency key, so that the same business fact starts one saga however often
  // it is published (e.g. `$event.orderId`). Without it, the event's message id.
  std::optional<Path> key;
};

// How long a finished saga is kept before retention removes it: for `age` from its last change,
// or forever.
struct KeepFor {
  bool forever = false;
  Duration age{0};  // when not forever
  bool operator==(const KeepFor&) const = default;
};

// `retention:` a flow's own ages per final status; one left unset takes the daemon's default.
// Failed (parked) sagas are never removed, so they have none.
struct Retention {
  std::optional<KeepFor> completed;
  std::optional<KeepFor> compensated;
  std::optional<KeepFor> cancelled;
};

// "7d", "36h", "0s" (at the next pass) or "never"; nullopt with `error` set otherwise (the
// durations of the flow language, docs/flow-language.md#durations).
std::optional<KeepFor> parse_keep_for(std::string_view text, std::string& error);
// The inverse: "7d", "1h30m", "never".
std::string format_keep_for(const KeepFor& keep);

struct Flow {
  std::string name;
  int version = 1;
  std::string description;
  InputContract input;
  Duration timeout{0};  // the whole saga; 0 = none
  std::vector<Step> steps;
  // Run once compensation has finished, before the saga ends compensated or cancelled: the
  // failure path's own forward steps (e.g. tell the customer "not paid"). Command and publish
  // steps only; they cannot be undone and are retried, then park the saga if they keep failing.
  std::vector<Step> on_compensated;
  std::optional<Trigger> trigger;
  Retention retention;
  std::string file;  // where it was loaded from, for messages
};

}  // namespace sagaflow::flow
