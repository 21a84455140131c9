#include "flow_reader.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "flow_warnings.hpp"
#include "sagaflow/flow/suggest.hpp"

namespace sagaflow::flow::detail {
namespace {

constexpr std::size_t kMaxStepSuggestions = 20;

struct KindKey {
  std::string_view key;
  StepKind kind;
};

constexpr std::array<KindKey, 6> kKindKeys{{{"command", StepKind::command},
                                            {"publish", StepKind::publish},
                                            {"wait", StepKind::wait},
                                            {"parallel", StepKind::parallel},
                                            {"foreach", StepKind::foreach},
                                            {"subflow", StepKind::subflow}}};

std::string_view kind_name(StepKind kind) {
  for (const auto& entry : kKindKeys) {
    if (entry.kind == kind) return entry.key;
  }
  return "command";
}

bool is_undoable(StepKind kind) {
  return kind == StepKind::command || kind == StepKind::foreach;
}

// The step's own name (taken early, for the unknown-key messages of its map).
std::string label_of(const YamlNode& node) {
  for (const auto& [key, value] : node.entries()) {
    if (key->scalar() == "name" && value->is_scalar()) return "step '" + value->scalar() + "'";
  }
  return "step";
}

void collect_names(const Step& step, CompletedSteps& names) {
  if (!step.name.empty()) names.insert(step.name);
  for (const auto& branch : step.branches) {
    for (const auto& inner : branch) collect_names(inner, names);
  }
}

}  // namespace

std::string step_label(const Step& step) {
  return step.name.empty() ? std::string("step") : "step '" + step.name + "'";
}

Flow FlowReader::read(const YamlNode& root) {
  Flow flow;
  MapReader map(root, "the flow",
                {"name", "version", "description", "timeout", "input", "additional_input_fields",
                 "trigger", "steps", "on_compensated", "retention"},
                reporter_);
  if (!map.is_map()) return flow;
  if (auto field = map.require("name")) {
    flow.name = read_name(*field, false, reporter_).value_or("");
  }
  if (auto field = map.require("version")) {
    auto version = read_integer(*field, reporter_);
    if (version && (*version < 1 || *version > std::numeric_limits<int>::max())) {
      reporter_.error(field->value_pos(), "'version' must be a positive integer");
    } else if (version) {
      flow.version = static_cast<int>(*version);
    }
  }
  if (auto field = map.get("description")) {
    flow.description = read_string(*field, reporter_).value_or("");
  }
  if (auto field = map.get("timeout")) {
    flow.timeout = read_duration(*field, true, reporter_).value_or(Duration{0});
  }
  if (auto field = map.get("input")) read_input(*field, flow);
  if (auto field = map.get("additional_input_fields")) {
    if (!flow.input.declared) {
      reporter_.error(field->key->pos(),
                      "'additional_input_fields' needs 'input': without it the input is not "
                      "checked at all");
    }
    flow.input.additional_fields = read_bool(*field, reporter_).value_or(false);
  }
  if (auto field = map.get("trigger")) read_trigger(*field, flow);
  if (auto field = map.get("retention")) read_retention(*field, flow);
  if (auto field = map.require("steps")) {
    if (!field->value->is_sequence() || field->value->size() == 0) {
      reporter_.error(field->value_pos(), "'steps' must be a list of at least one step, found " +
                                              describe(*field->value));
    } else {
      CompletedSteps completed;
      flow.steps = read_sequence(*field->value, completed, false);
    }
  }
  if (auto field = map.get("on_compensated")) read_on_compensated(*field, flow);
  resolve_pending_references();
  return flow;
}

// The failure path's forward steps run after every compensation, when any step of the flow may
// have run (or not: then it reads as null), so they may read every step.
void FlowReader::read_on_compensated(const Field& field, Flow& flow) {
  if (!field.value->is_sequence() || field.value->size() == 0) {
    reporter_.error(
        field.value_pos(),
        "'on_compensated' must be a list of at least one step, found " + describe(*field.value));
    return;
  }
  CompletedSteps completed;
  for (const auto& step : flow.steps) collect_names(step, completed);
  reading_on_compensated_ = true;
  flow.on_compensated = read_sequence(*field.value, completed, false);
  reading_on_compensated_ = false;
}

// `trigger: { event, when, key }`: they read only the event, which becomes the saga's input.
void FlowReader::read_trigger(const Field& field, Flow& flow) {
  MapReader map(*field.value, "trigger", {"event", "when", "key"}, reporter_);
  if (!map.is_map()) return;
  Trigger trigger;
  const PathRules event_only{root_bit(PathRoot::event), false};
  const StepScope scope{};
  if (auto event = map.require("event")) {
    trigger.event = read_name(*event, true, reporter_).value_or("");
  }
  if (auto when = map.get("when")) {
    trigger.when = read_expression(*when, event_only, scope);
    trigger.when_pos = when->value_pos();
  }
  if (auto key = map.get("key")) trigger.key = read_path(*key, event_only, scope);
  flow.trigger = std::move(trigger);
}

// `retention: { completed: 7d, compensated: 30d, cancelled: never }`: how long finished sagas
// are kept, per final status. Failed sagas wait for an operator and are never removed.
void FlowReader::read_retention(const Field& field, Flow& flow) {
  MapReader map(*field.value, "retention", {"completed", "compensated", "cancelled"}, reporter_);
  if (!map.is_map()) return;
  auto read = [&](std::string_view status) -> std::optional<KeepFor> {
    auto value = map.get(status);
    if (!value) return std::nullopt;
    if (value->value->is_scalar() && value->value->scalar() == "never") {
      return KeepFor{.forever = true};
    }
    auto age = read_duration(*value, false, reporter_);
    if (!age) return std::nullopt;
    return KeepFor{.forever = false, .age = *age};
  };
  flow.retention.completed = read("completed");
  flow.retention.compensated = read("compensated");
  flow.retention.cancelled = read("cancelled");
}

// Steps of a list run one after the other: each sees the ones before it as completed.
std::vector<Step> FlowReader::read_sequence(const YamlNode& list, CompletedSteps& completed,
                                            bool in_branch) {
  std::vector<Step> steps;
  for (const YamlNode* node : list.elements()) {
    Step step = read_step(*node, completed, in_branch);
    collect_names(step, completed);
    steps.push_back(std::move(step));
  }
  return steps;
}

Step FlowReader::read_step(const YamlNode& node, const CompletedSteps& completed, bool in_branch) {
  Step step;
  step.pos = node.pos();
  MapReader map(
      node, label_of(node),
      {"name", "when", "irreversible", "pivot", "command", "publish", "wait", "parallel", "foreach",
       "subflow", "output", "retry", "timeout", "compensation", "allow_warnings"},
      reporter_);
  if (!map.is_map()) return step;
  read_step_name(map, step);
  const StepScope scope{step.name, &completed, false};
  if (auto field = map.get("when")) {
    step.when = read_expression(*field, {kDataRoots, false}, scope);
    step.when_pos = field->value_pos();
  }
  if (auto field = map.get("allow_warnings")) read_allow_warnings(*field, step);
  if (auto field = map.get("irreversible")) {
    // An unreadable value is reported; taking it as true spares a second, misleading
    // "no compensation" error (the flow is refused either way).
    step.irreversible = read_bool(*field, reporter_).value_or(true);
  }
  if (auto field = map.get("pivot")) {
    step.pivot = read_bool(*field, reporter_).value_or(false);
    if (step.pivot && in_branch) {
      reporter_.error(field->key->pos(),
                      "a pivot must be a top-level step, not inside a parallel branch");
    }
  }
  auto kind = read_kind(map, step);
  if (!kind) return step;
  step.kind = kind->first;
  if (reading_on_compensated_) {
    if (step.kind != StepKind::command && step.kind != StepKind::publish) {
      reporter_.error(kind->second.key->pos(),
                      step_label(step) +
                          " is in 'on_compensated', which runs after the compensation: only "
                          "command and publish steps may be there");
      return step;
    }
    if (step.pivot) {
      reporter_.error(step.pos, step_label(step) + " is in 'on_compensated' and cannot be a pivot");
    }
    step.irreversible = true;  // nothing runs after it that could undo it
  }
  check_kind_keys(map, step);
  switch (step.kind) {
    case StepKind::command:
      read_command_step(map, kind->second, step, scope);
      break;
    case StepKind::foreach:
      read_foreach_step(map, kind->second, step, scope);
      break;
    case StepKind::publish:
      read_publish_step(kind->second, step, scope);
      break;
    case StepKind::wait:
      read_wait_step(map, kind->second, step, scope);
      break;
    case StepKind::parallel:
      read_parallel_step(kind->second, step, completed);
      break;
    case StepKind::subflow:
      read_subflow_step(map, kind->second, step, scope);
      break;
  }
  check_undo(map, step);
  return step;
}

void FlowReader::read_step_name(const MapReader& map, Step& step) {
  auto field = map.require("name");
  if (!field) return;
  auto name = read_name(*field, false, reporter_);
  if (!name) return;
  const SourcePos pos = field->value_pos();
  if (auto [first, inserted] = step_names_.emplace(*name, pos); !inserted) {
    reporter_.error(pos, "duplicate step name '" + *name + "' (first defined at " +
                             format_pos(first->second) + ")");
  }
  step.name = std::move(*name);
}

// Exactly one of command, publish, wait, parallel, foreach; extra ones are reported where
// they appear in the file.
std::optional<std::pair<StepKind, Field>> FlowReader::read_kind(const MapReader& map,
                                                                const Step& step) {
  std::vector<std::pair<StepKind, Field>> found;
  for (const auto& entry : kKindKeys) {
    if (auto field = map.get(entry.key)) found.emplace_back(entry.kind, *field);
  }
  if (found.empty()) {
    reporter_.error(
        map.pos(),
        step_label(step) + " needs one of: command, publish, wait, parallel, foreach, subflow");
    return std::nullopt;
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    const SourcePos left = a.second.key->pos();
    const SourcePos right = b.second.key->pos();
    return std::tie(left.line, left.column) < std::tie(right.line, right.column);
  });
  for (std::size_t i = 1; i < found.size(); ++i) {
    reporter_.error(found[i].second.key->pos(), step_label(step) + " has one kind, but both '" +
                                                    found[0].second.name() + "' and '" +
                                                    found[i].second.name() + "' are given");
  }
  return found.front();
}

// output, retry, timeout, compensation and irreversible only make sense for some kinds.
void FlowReader::check_kind_keys(const MapReader& map, const Step& step) {
  const std::string kind(kind_name(step.kind));
  for (std::string_view key : {"output", "retry", "timeout", "compensation", "irreversible"}) {
    auto field = map.get(key);
    if (!field) continue;
    const bool applies = is_undoable(step.kind) ||
                         (step.kind == StepKind::wait && key == "output") ||
                         (step.kind == StepKind::subflow && key == "output");
    if (applies) continue;
    std::string message = "'" + std::string(key) + "' does not apply to a " + kind + " step";
    if (step.kind == StepKind::wait && key == "timeout") {
      message = "a wait's timeout goes inside 'wait'";
    } else if (step.kind == StepKind::subflow) {
      message += ": the child saga has its own retries, timeout and compensations";
    } else if (key == "irreversible" || key == "compensation") {
      message += "; only command and foreach steps change state that needs undoing";
    }
    reporter_.error(field->key->pos(), message);
  }
}

// A step that changes state says how to undo it, or says on purpose that it cannot be undone.
void FlowReader::check_undo(const MapReader& map, const Step& step) {
  if (!is_undoable(step.kind)) return;
  auto compensation = map.get("compensation");
  if (reading_on_compensated_ && compensation) {
    reporter_.error(compensation->key->pos(),
                    step_label(step) + " runs after the compensation and cannot have one");
  } else if (step.irreversible && compensation) {
    reporter_.error(compensation->key->pos(),
                    step_label(step) + " is irreversible and cannot have a compensation");
  } else if (!step.irreversible && !compensation) {
    reporter_.error(step.pos, step_label(step) +
                                  " has no compensation; add one, or mark it 'irreversible: "
                                  "true' if it cannot be undone on purpose");
  }
}

// The warnings a step accepts, by code: an unknown code is an error, so that a misspelt one does
// not silently allow nothing.
void FlowReader::read_allow_warnings(const Field& field, Step& step) {
  auto codes = read_name_list(field, false, reporter_);
  if (!codes) return;
  const auto known = warning_codes();
  const auto elements = field.value->elements();
  for (std::size_t i = 0; i < codes->size(); ++i) {
    const std::string& code = (*codes)[i];
    if (std::find(known.begin(), known.end(), code) == known.end()) {
      reporter_.error(
          i < elements.size() ? elements[i]->pos() : field.value_pos(),
          "unknown warning '" + code + "' in 'allow_warnings'" + did_you_mean(code, known));
    }
  }
  step.allow_warnings = std::move(*codes);
}

// Where each field of a step's `output:` map is written, for the unread-output warning.
void FlowReader::index_output_fields(const YamlNode& output, const Step& step) {
  if (!output.is_map() || step.name.empty()) return;
  auto& fields = index_.output_fields[step.name];
  for (const auto& entry : output.entries()) {
    fields.emplace(entry.key->scalar(), entry.key->pos());
  }
}

void FlowReader::resolve_pending_references() {
  std::vector<std::string_view> names;
  names.reserve(step_names_.size());
  for (const auto& entry : step_names_) names.emplace_back(entry.first);
  std::size_t suggested = 0;
  for (const auto& reference : pending_) {
    const bool exists = step_names_.contains(reference.target);
    if (exists && reference.any_step) continue;
    if (exists) {
      reporter_.error(reference.pos,
                      reference.path_text + " reads step '" + reference.target +
                          "', which has not finished when " +
                          (reference.from.empty() ? "this step" : "step '" + reference.from + "'") +
                          " runs (it comes later, or in a parallel sibling branch)");
    } else {
      // Each suggestion scans every step name; a few are all a person reads anyway.
      const std::string meant =
          suggested++ < kMaxStepSuggestions ? did_you_mean(reference.target, names) : "";
      reporter_.error(reference.pos, reference.path_text + " refers to unknown step '" +
                                         reference.target + "'" + meant);
    }
  }
  pending_.clear();
}

}  // namespace sagaflow::flow::detail
