#include "sagaflow/flow/subflows.hpp"

#include <set>
#include <string>

namespace sagaflow::flow {
namespace {

void collect(const std::vector<Step>& steps, std::vector<const Step*>& out) {
  for (const auto& step : steps) {
    if (step.kind == StepKind::subflow) out.push_back(&step);
    for (const auto& branch : step.branches) collect(branch, out);
  }
}

// A path of flow names from `from` back to `target`, or empty when there is none. `seen` keeps
// each flow visited once, so that a cycle among other flows ends the search too.
std::vector<std::string> path_back(const Flow& from, const Flow& target, const FindFlow& known,
                                   std::set<std::string, std::less<>>& seen) {
  for (const auto* step : subflow_steps(from)) {
    if (step->subflow == target.name) return {from.name, target.name};
    if (!seen.insert(step->subflow).second) continue;
    const Flow* next = known(step->subflow);
    if (next == nullptr) continue;
    auto rest = path_back(*next, target, known, seen);
    if (rest.empty()) continue;
    rest.insert(rest.begin(), from.name);
    return rest;
  }
  return {};
}

}  // namespace

std::vector<const Step*> subflow_steps(const Flow& flow) {
  std::vector<const Step*> out;
  collect(flow.steps, out);
  return out;
}

std::vector<Diagnostic> check_subflows(const Flow& flow, const FindFlow& known) {
  std::vector<Diagnostic> out;
  auto error = [&](const Step& step, std::string message) {
    out.push_back(Diagnostic{.file = flow.file,
                             .line = step.subflow_pos.line,
                             .column = step.subflow_pos.column,
                             .message = std::move(message)});
  };
  // The flow as it is about to be deployed stands for its name, not an older version.
  const FindFlow lookup = [&](std::string_view name) -> const Flow* {
    return name == flow.name ? &flow : known(name);
  };
  for (const auto* step : subflow_steps(flow)) {
    const std::string label = "subflow step '" + step->name + "'";
    if (step->subflow == flow.name) {
      error(*step,
            label + " starts flow '" + flow.name + "' itself: sub-flows must not form a cycle");
      continue;
    }
    const Flow* child = known(step->subflow);
    if (child == nullptr) {
      error(*step,
            label + " starts flow '" + step->subflow + "', which is not deployed; deploy it first");
      continue;
    }
    std::set<std::string, std::less<>> seen{step->subflow};
    auto cycle = path_back(*child, flow, lookup, seen);
    if (cycle.empty()) continue;
    std::string chain = flow.name;
    for (const auto& name : cycle) chain += " -> " + name;
    error(*step, label + " starts flow '" + step->subflow + "', which starts '" + flow.name +
                     "' again (" + chain + "): sub-flows must not form a cycle");
  }
  return out;
}

}  // namespace sagaflow::flow
