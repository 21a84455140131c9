#include "sagaflow/engine/effects.hpp"

#include <algorithm>

namespace sagaflow {
namespace {

flow::Scope scope_of(const SagaState& saga, const json::value* item) {
  return flow::Scope{.input = &saga.input, .steps = &saga.steps, .item = item, .saga = &saga.meta};
}

// The foreach element an activity worked on, as the engine resolves it; null otherwise.
json::value item_of(const SagaState& saga, const Activity& activity) {
  const auto& step = *saga.plan->node(activity.node).step;
  if (step.kind != flow::StepKind::foreach) return nullptr;
  const auto* items = step.items.resolve(scope_of(saga, nullptr));
  if (items == nullptr || !items->is_array() || activity.item >= items->get_array().size()) {
    return nullptr;
  }
  return items->get_array()[activity.item];
}

bool reads_step(const std::vector<const flow::Path*>& paths, const std::string& name) {
  return std::any_of(paths.begin(), paths.end(), [&](const flow::Path* path) {
    return path->root == flow::PathRoot::steps && path->step_name() == name;
  });
}

// A compensation that ran and reads `$steps.<name>` undid that step's effect with its own.
bool undone_by_another(const SagaState& saga, const std::string& name) {
  return std::any_of(saga.activities.begin(), saga.activities.end(), [&](const Activity& a) {
    if (a.phase != ActivityPhase::compensated) return false;
    const auto& step = *saga.plan->node(a.node).step;
    if (!step.compensation) return false;
    const json::value item = item_of(saga, a);
    const auto scope = scope_of(saga, &item);
    // The variant that ran: the first whose `when` holds, as the engine chose it.
    for (const auto& variant : step.compensation->variants) {
      if (variant.when && !variant.when->test(scope)) continue;
      return (variant.when && reads_step(variant.when->paths(), name)) ||
             reads_step(variant.command.input.paths(), name);
    }
    return false;
  });
}

}  // namespace

std::vector<StandingEffect> effects_left_standing(const SagaState& saga) {
  std::vector<StandingEffect> effects;
  if (saga.plan == nullptr ||
      (saga.status != Status::compensated && saga.status != Status::cancelled)) {
    return effects;
  }
  for (const auto index : saga.completed) {
    if (index >= saga.activities.size()) continue;
    const Activity& a = saga.activities[index];
    const auto& node = saga.plan->node(a.node);
    if (node.on_compensated || !node.step->irreversible) continue;
    if (undone_by_another(saga, node.step->name)) continue;
    effects.push_back(
        {activity_key(saga, a),
         saga.nodes[a.node] == NodeStatus::done || !a.maybe_applied
             ? "irreversible step completed: it has no compensation, its effect stands"
             : "irreversible step whose last attempt timed out: it may have been applied, and "
               "it has no compensation"});
  }
  return effects;
}

json::array effects_json(const std::vector<StandingEffect>& effects) {
  json::array out;
  for (const auto& effect : effects) {
    out.push_back(json::object{{"step", effect.step}, {"reason", effect.reason}});
  }
  return out;
}

std::vector<PlannedCompensation> compensations_on_cancel(const SagaState& saga) {
  std::vector<PlannedCompensation> out;
  if (saga.paused_from == Status::pending && saga.status == Status::paused) return out;
  // Before compensation began, every completed activity is still to undo; once it began, the
  // undo cursor says how many remain.
  const std::size_t remaining =
      saga.compensation_started ? saga.undo_cursor : saga.completed.size();
  for (std::size_t i = remaining; i > 0; --i) {
    const auto& a = saga.activities.at(saga.completed[i - 1]);
    if (a.phase != ActivityPhase::done && a.phase != ActivityPhase::failed &&
        a.phase != ActivityPhase::compensation_backoff && a.phase != ActivityPhase::compensating) {
      continue;
    }
    const auto& step = *saga.plan->node(a.node).step;
    // A completed child saga undoes itself: shown as "subflow:<its flow>".
    if (step.kind == flow::StepKind::subflow) {
      out.push_back(PlannedCompensation{activity_key(saga, a), {"subflow:" + step.subflow}});
      continue;
    }
    if (!step.compensation || step.compensation->variants.empty()) continue;
    PlannedCompensation planned{activity_key(saga, a), {}};
    for (const auto& v : step.compensation->variants) planned.commands.push_back(v.command.type());
    out.push_back(std::move(planned));
  }
  return out;
}

}  // namespace sagaflow
