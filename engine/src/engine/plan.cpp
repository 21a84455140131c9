#include "sagaflow/engine/plan.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <unordered_set>

namespace sagaflow {

Plan::Plan(std::shared_ptr<const flow::Flow> flow) : flow_(std::move(flow)) {
  add_sequence(flow_->steps, {}, kNoParent);
  add_sequence(flow_->on_compensated, {}, kNoParent, true);
  // Each name once, in the order first met; a set beside the list, since one wait may list
  // tens of thousands of events and a search of the list for each would be quadratic.
  std::unordered_set<std::string_view> listened, served;
  auto listen = [&](const std::string& event) {
    if (listened.insert(event).second) events_.push_back(event);
  };
  if (flow_->trigger) listen(flow_->trigger->event);
  auto serve = [&](const std::string& service) {
    if (!service.empty() && served.insert(service).second) services_.push_back(service);
  };
  for (const auto& node : nodes_) {
    by_name_.emplace(node.step->name, static_cast<NodeIndex>(&node - nodes_.data()));
    const auto& step = *node.step;
    if (step.kind == flow::StepKind::command || step.kind == flow::StepKind::foreach) {
      serve(step.command.service);
    }
    if (step.compensation) {
      for (const auto& variant : step.compensation->variants) serve(variant.command.service);
    }
    if (step.kind == flow::StepKind::wait && step.wait.each_event) {
      serve(step.wait.each_event->command.service);
    }
    if (node.step->kind != flow::StepKind::wait) continue;
    for (const auto* list : {&node.step->wait.events, &node.step->wait.failure_events}) {
      for (const auto& event : *list) listen(event);
    }
  }
}

// Returns the nodes a following step must wait for: the last step of the sequence, or, when it
// ends with a parallel step, the last steps of each of its branches (the join).
std::vector<NodeIndex> Plan::add_sequence(const std::vector<flow::Step>& steps,
                                          std::vector<NodeIndex> after, int parent,
                                          bool on_compensated) {
  for (const auto& step : steps) {
    if (nodes_.size() >= UINT16_MAX) throw std::length_error("flow has too many steps");
    const auto index = static_cast<NodeIndex>(nodes_.size());
    nodes_.push_back(PlanNode{&step, after, parent, on_compensated});
    if (step.kind != flow::StepKind::parallel) {
      after = {index};
      continue;
    }
    std::vector<NodeIndex> join;
    for (const auto& branch : step.branches) {
      auto tails = add_sequence(branch, {index}, index, on_compensated);
      join.insert(join.end(), tails.begin(), tails.end());
    }
    after = join.empty() ? std::vector<NodeIndex>{index} : std::move(join);
  }
  return after;
}

int Plan::find(std::string_view step_name) const {
  auto it = by_name_.find(step_name);
  return it == by_name_.end() ? -1 : it->second;
}

// ---------------------------------------------------------------------------------------------
std::shared_ptr<const Plan> FlowRegistry::add(std::shared_ptr<const flow::Flow> flow) {
  auto plan = std::make_shared<const Plan>(flow);
  std::unique_lock lock(mutex_);
  plans_[flow->name][flow->version] = plan;
  index_event_keys(*plan);
  return plan;
}

std::shared_ptr<const Plan> FlowRegistry::find(std::string_view name, int version) const {
  std::shared_lock lock(mutex_);
  auto it = plans_.find(name);
  if (it == plans_.end() || it->second.empty()) return nullptr;
  if (version == 0) return it->second.rbegin()->second;
  auto v = it->second.find(version);
  return v == it->second.end() ? nullptr : v->second;
}

std::vector<std::shared_ptr<const Plan>> FlowRegistry::all() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const Plan>> out;
  for (const auto& [name, versions] : plans_) {
    for (const auto& [version, plan] : versions) out.push_back(plan);
  }
  return out;
}

std::vector<std::shared_ptr<const Plan>> FlowRegistry::triggered_by(
    std::string_view event_type) const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const Plan>> out;
  for (const auto& [name, versions] : plans_) {
    const auto& latest = versions.rbegin()->second;
    const auto& trigger = latest->flow().trigger;
    if (trigger && trigger->event == event_type) out.push_back(latest);
  }
  return out;
}

std::vector<flow::Path> FlowRegistry::event_key_paths(std::string_view event_type) const {
  std::shared_lock lock(mutex_);
  auto it = event_keys_.find(event_type);
  return it == event_keys_.end() ? std::vector<flow::Path>{} : it->second;
}

void FlowRegistry::index_event_keys(const Plan& plan) {
  for (const auto& node : plan.nodes()) {
    const auto& step = *node.step;
    if (step.kind != flow::StepKind::wait) continue;
    for (const auto* list : {&step.wait.events, &step.wait.failure_events}) {
      for (const auto& event : *list) {
        auto& paths = event_keys_[event];
        bool known = std::any_of(paths.begin(), paths.end(),
                                 [&](const flow::Path& p) { return p.text == step.wait.key.text; });
        if (!known) paths.push_back(step.wait.key);
      }
    }
  }
}

}  // namespace sagaflow
