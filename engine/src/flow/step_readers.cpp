#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <string_view>

#include "duration.hpp"
#include "flow_reader.hpp"

namespace sagaflow::flow::detail {
namespace {

constexpr std::int64_t kMaxAttempts = 1000;
// Every step must end: its attempts x timeout plus the backoff between them stays under this.
constexpr Duration kMaxRetryBudget = std::chrono::days(7);

// The roots a command's input (and a compensation's) may read.
PathRules command_input_rules(const StepScope& scope, bool self) {
  const unsigned item = scope.foreach ? root_bit(PathRoot::item) : 0U;
  return {kDataRoots | item, self};
}

bool has_key(const YamlNode& map, std::string_view key) {
  for (const auto& entry : map.entries()) {
    if (entry.key->scalar() == key) return true;
  }
  return false;
}

}  // namespace

void FlowReader::read_command_step(const MapReader& map, const Field& command, Step& step,
                                   const StepScope& scope) {
  MapReader command_map(*command.value, "command", {"service", "name", "input"}, reporter_);
  step.command = read_command_fields(command_map, command_input_rules(scope, false), scope);
  read_attempt_settings(map, step, scope);
}

void FlowReader::read_foreach_step(const MapReader& map, const Field& foreach, Step& step,
                                   StepScope scope) {
  MapReader foreach_map(*foreach.value, "foreach", {"items", "command"}, reporter_);
  if (auto items = foreach_map.require("items")) {
    step.items = read_path(*items, {kDataRoots, false}, scope).value_or(Path{});
  }
  scope.foreach = true;  // from here on, `$item` is the current element
  if (auto command = foreach_map.require("command")) {
    MapReader command_map(*command->value, "command", {"service", "name", "input"}, reporter_);
    step.command = read_command_fields(command_map, command_input_rules(scope, false), scope);
  }
  read_attempt_settings(map, step, scope);
}

void FlowReader::read_publish_step(const Field& publish, Step& step, const StepScope& scope) {
  MapReader map(*publish.value, "publish", {"event", "payload"}, reporter_);
  if (auto event = map.require("event")) {
    step.event = read_name(*event, true, reporter_).value_or("");
  }
  if (auto payload = map.get("payload")) {
    step.payload = read_mapping(*payload->value, {kDataRoots, false}, scope);
  }
}

// `subflow: {flow, input}`: the child flow by name (checked against the deployed flows at
// deploy, flow/subflows.hpp), its input a mapping as a command's; `output` reads `$reply`, the
// child's outputs.
void FlowReader::read_subflow_step(const MapReader& map, const Field& subflow, Step& step,
                                   const StepScope& scope) {
  MapReader subflow_map(*subflow.value, "subflow", {"flow", "input"}, reporter_);
  if (auto name = subflow_map.require("flow")) {
    step.subflow = read_name(*name, false, reporter_).value_or("");
    step.subflow_pos = name->value_pos();
  }
  if (auto input = subflow_map.get("input")) {
    step.command.input = read_mapping(*input->value, command_input_rules(scope, false), scope);
  }
  if (auto output = map.get("output")) {
    step.output =
        read_mapping(*output->value, {kDataRoots | root_bit(PathRoot::reply), true}, scope);
    index_output_fields(*output->value, step);
  }
}

void FlowReader::read_wait_step(const MapReader& step_map, const Field& wait, Step& step,
                                const StepScope& scope) {
  MapReader map(*wait.value, "wait",
                {"events", "correlate", "key", "until", "stale", "failure_events",
                 "on_failure_event", "timeout", "each_event"},
                reporter_);
  WaitSpec& spec = step.wait;
  const PathRules event_rules{kDataRoots | root_bit(PathRoot::event), true};
  if (auto events = map.require("events")) {
    spec.events = read_name_list(*events, true, reporter_).value_or(std::vector<std::string>{});
    if (events->value->is_sequence() && events->value->size() == 0) {
      reporter_.error(events->value_pos(), "'events' must name at least one event");
    }
  }
  if (auto correlate = map.require("correlate")) {
    spec.correlate = read_expression(*correlate, {kDataRoots, false}, scope).value_or(Expression{});
  }
  if (auto key = map.require("key")) {
    spec.key = read_path(*key, {root_bit(PathRoot::event), false}, scope).value_or(Path{});
  }
  if (auto until = map.get("until")) spec.until = read_expression(*until, event_rules, scope);
  if (auto stale = map.get("stale")) spec.stale = read_expression(*stale, event_rules, scope);
  if (auto failures = map.get("failure_events")) {
    spec.failure_events =
        read_name_list(*failures, true, reporter_).value_or(std::vector<std::string>{});
    // A set, not a scan of the list per element: both lists may be tens of thousands long.
    const std::set<std::string_view> success(spec.events.begin(), spec.events.end());
    for (const YamlNode* element : failures->value->elements()) {
      const bool also_success = element->is_scalar() && success.contains(element->scalar());
      if (also_success) {
        reporter_.error(element->pos(), "event '" + element->scalar() +
                                            "' is in both 'events' and 'failure_events'");
      }
    }
  }
  if (auto action = map.get("on_failure_event")) {
    const auto text = read_string(*action, reporter_);
    if (text == "compensate" || text == "keep_waiting") {
      spec.on_failure_event =
          *text == "compensate" ? FailureEventAction::compensate : FailureEventAction::keep_waiting;
    } else if (text) {
      reporter_.error(
          action->value_pos(),
          "'on_failure_event' must be compensate or keep_waiting, found '" + *text + "'");
    }
    if (!map.has("failure_events")) {
      reporter_.error(action->key->pos(), "'on_failure_event' needs 'failure_events' to act on");
    }
  }
  if (auto timeout = map.require("timeout")) {
    spec.timeout = read_duration(*timeout, true, reporter_).value_or(Duration{0});
  }
  if (auto output = step_map.get("output")) {
    step.output = read_mapping(*output->value, event_rules, scope);
    index_output_fields(*output->value, step);
  }
  if (auto each = map.get("each_event")) read_each_event(*each, step, scope);
}

// Its input reads the wait's result (own step) rather than `$event`, so that a retry sends what
// the saga recorded, not an event it no longer holds.
void FlowReader::read_each_event(const Field& field, Step& step, const StepScope& scope) {
  MapReader map(*field.value, "each_event", {"service", "name", "input", "retry", "timeout"},
                reporter_);
  if (!map.is_map()) return;
  EventCommand each;
  each.command = read_command_fields(map, command_input_rules(scope, true), scope);
  if (auto timeout = map.get("timeout")) {
    each.timeout = read_duration(*timeout, true, reporter_).value_or(each.timeout);
  }
  const auto retry = map.get("retry");
  if (retry) each.retry = read_retry(*retry, RetryPolicy{});
  check_retry_budget(retry, each.retry, each.timeout,
                     "the each_event command of " + step_label(step));
  step.wait.each_event = std::move(each);
}

void FlowReader::read_parallel_step(const Field& parallel, Step& step,
                                    const CompletedSteps& completed) {
  if (!parallel.value->is_sequence() || parallel.value->size() == 0) {
    reporter_.error(
        parallel.value_pos(),
        "'parallel' must be a list of at least one branch, each a list of steps; found " +
            describe(*parallel.value));
    return;
  }
  for (const YamlNode* branch : parallel.value->elements()) {
    if (!branch->is_sequence()) {
      reporter_.error(branch->pos(), "a parallel branch is a list of steps, found " +
                                         describe(*branch) +
                                         " (write each branch as '- - name: ...')");
      continue;
    }
    if (branch->size() == 0) {
      reporter_.error(branch->pos(), "a parallel branch needs at least one step");
      continue;
    }
    // A branch starts from what was complete before the parallel step: its siblings' steps
    // are never "earlier".
    CompletedSteps branch_completed(&completed);
    step.branches.push_back(read_sequence(*branch, branch_completed, true));
  }
}

CommandSpec FlowReader::read_command_fields(const MapReader& map, const PathRules& rules,
                                            const StepScope& scope) {
  CommandSpec command;
  if (!map.is_map()) return command;
  if (auto service = map.require("service")) {
    command.service = read_name(*service, false, reporter_).value_or("");
    command.service_pos = service->value_pos();
  }
  if (auto name = map.require("name")) {
    command.name = read_name(*name, false, reporter_).value_or("");
  }
  if (auto input = map.get("input")) command.input = read_mapping(*input->value, rules, scope);
  return command;
}

// output, timeout, retry and compensation of a command or foreach step.
void FlowReader::read_attempt_settings(const MapReader& map, Step& step, const StepScope& scope) {
  const unsigned item = scope.foreach ? root_bit(PathRoot::item) : 0U;
  if (auto output = map.get("output")) {
    step.output =
        read_mapping(*output->value, {kDataRoots | root_bit(PathRoot::reply) | item, true}, scope);
    index_output_fields(*output->value, step);
  }
  if (auto timeout = map.get("timeout")) {
    step.timeout = read_duration(*timeout, true, reporter_).value_or(step.timeout);
  }
  const auto retry = map.get("retry");
  if (retry) step.retry = read_retry(*retry, RetryPolicy{});
  check_retry_budget(retry, step.retry, step.timeout, step_label(step));
  if (auto compensation = map.get("compensation")) {
    step.compensation = read_compensation(*compensation, scope);
  }
}

RetryPolicy FlowReader::read_retry(const Field& field, RetryPolicy policy) {
  MapReader map(*field.value, "retry",
                {"max_attempts", "initial_delay", "multiplier", "max_delay", "non_retryable"},
                reporter_);
  if (auto attempts = map.get("max_attempts")) {
    auto value = read_integer(*attempts, reporter_);
    if (value && (*value < 1 || *value > kMaxAttempts)) {
      reporter_.error(attempts->value_pos(),
                      "'max_attempts' must be between 1 and 1000 (1 = no retry), found " +
                          std::to_string(*value));
    } else if (value) {
      policy.max_attempts = static_cast<std::uint32_t>(*value);
    }
  }
  if (auto delay = map.get("initial_delay")) {
    policy.initial_delay = read_duration(*delay, false, reporter_).value_or(policy.initial_delay);
  }
  if (auto multiplier = map.get("multiplier")) {
    auto value = read_number(*multiplier, reporter_);
    if (value && (*value < 1.0 || *value > 100.0)) {
      reporter_.error(multiplier->value_pos(),
                      "'multiplier' must be between 1 (constant delay) and 100");
    } else if (value) {
      policy.multiplier = *value;
    }
  }
  const auto max_delay = map.get("max_delay");
  if (max_delay) {
    policy.max_delay = read_duration(*max_delay, true, reporter_).value_or(policy.max_delay);
  }
  if (policy.max_delay < policy.initial_delay) {
    reporter_.error(max_delay ? max_delay->value_pos() : map.pos(),
                    "'max_delay' (" + format_duration(policy.max_delay) +
                        ") is shorter than 'initial_delay' (" +
                        format_duration(policy.initial_delay) + ")");
  }
  if (auto codes = map.get("non_retryable")) {
    policy.non_retryable =
        read_name_list(*codes, true, reporter_).value_or(std::vector<std::string>{});
  }
  return policy;
}

void FlowReader::check_retry_budget(const std::optional<Field>& retry, const RetryPolicy& policy,
                                    Duration timeout, const std::string& what) {
  if (!retry || policy.max_attempts <= 1) return;
  // The engine's own arithmetic (delay_before), summed without overflow.
  const Duration total = policy.longest_run(timeout);
  if (total > kMaxRetryBudget) {
    reporter_.error(retry->value_pos(), what + " may retry for up to " + format_duration(total) +
                                            " (max_attempts x timeout + backoff), more than the " +
                                            format_duration(kMaxRetryBudget) + " allowed");
  }
}

// Three spellings: one command (a map with service/name/input, optionally when/retry/timeout);
// a list of variants; or a map with `variants` and the shared retry/timeout.
Compensation FlowReader::read_compensation(const Field& field, const StepScope& scope) {
  Compensation compensation;
  PathRules rules = command_input_rules(scope, true);
  rules.any_step = true;
  const std::string what = "the compensation of step '" + scope.self + "'";
  std::optional<Field> retry;
  std::optional<Field> timeout;
  if (field.value->is_sequence()) {
    read_variants(field, compensation, rules, scope);
  } else {
    const bool grouped = has_key(*field.value, "variants");
    const MapReader map =
        grouped
            ? MapReader(*field.value, "compensation", {"variants", "retry", "timeout"}, reporter_)
            : MapReader(*field.value, "compensation",
                        {"when", "service", "name", "input", "retry", "timeout"}, reporter_);
    if (!map.is_map()) return compensation;
    if (!grouped) {
      compensation.variants.push_back(read_variant(map, rules, scope));
    } else if (auto variants = map.require("variants")) {
      read_variants(*variants, compensation, rules, scope);
    }
    timeout = map.get("timeout");
    if (timeout) {
      compensation.timeout =
          read_duration(*timeout, true, reporter_).value_or(compensation.timeout);
    }
    retry = map.get("retry");
  }
  if (retry) compensation.retry = read_retry(*retry, compensation.retry);
  // A compensation retries by default, so a long timeout alone may break the budget.
  check_retry_budget(retry ? retry : timeout, compensation.retry, compensation.timeout, what);
  return compensation;
}

// The first variant whose `when` holds runs, so a variant after one without `when` is dead.
void FlowReader::read_variants(const Field& field, Compensation& compensation,
                               const PathRules& rules, const StepScope& scope) {
  if (!field.value->is_sequence() || field.value->size() == 0) {
    reporter_.error(field.value_pos(),
                    "compensation variants must be a list of at least one "
                    "command, found " +
                        describe(*field.value));
    return;
  }
  bool after_unconditional = false;
  for (const YamlNode* node : field.value->elements()) {
    MapReader map(*node, "compensation variant", {"when", "service", "name", "input"}, reporter_);
    if (!map.is_map()) continue;
    if (after_unconditional) {
      reporter_.error(map.pos(),
                      "this compensation variant never runs: the one before it has no "
                      "'when' and always applies");
    }
    after_unconditional = after_unconditional || !map.has("when");
    compensation.variants.push_back(read_variant(map, rules, scope));
  }
}

CompensationVariant FlowReader::read_variant(const MapReader& map, const PathRules& rules,
                                             const StepScope& scope) {
  CompensationVariant variant;
  variant.pos = map.pos();
  if (auto when = map.get("when")) {
    variant.when = read_expression(*when, rules, scope);
    variant.when_pos = when->value_pos();
  }
  variant.command = read_command_fields(map, rules, scope);
  return variant;
}

}  // namespace sagaflow::flow::detail
