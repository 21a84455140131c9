#pragma once
// A flow compiled for execution. The YAML tree (flow::Flow) nests steps inside parallel
// branches; the plan flattens it into nodes, each knowing which nodes must be finished before
// it may start. The saga's runtime state is then a status per node, independent of nesting.
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow {

using NodeIndex = std::uint16_t;
constexpr int kNoParent = -1;

struct PlanNode {
  const flow::Step* step = nullptr;  // owned by Plan::flow
  std::vector<NodeIndex> after;      // must each be done or skipped first
  int parent = kNoParent;            // the enclosing parallel step: skipped with it
  bool on_compensated = false;       // runs after the compensation, not going forward
};

class Plan {
 public:
  explicit Plan(std::shared_ptr<const flow::Flow> flow);

  const flow::Flow& flow() const { return *flow_; }
  const std::vector<PlanNode>& nodes() const { return nodes_; }
  const PlanNode& node(NodeIndex i) const { return nodes_[i]; }
  // -1 when no such step.
  int find(std::string_view step_name) const;
  // Event types the orchestrator must receive for this flow: its trigger and what its waits
  // listen to (success and failure events).
  const std::vector<std::string>& listened_events() const { return events_; }
  // Every service this flow sends commands to (steps, compensations, each_event, on_compensated),
  // so that a broker's queues can be declared before the first command.
  const std::vector<std::string>& services() const { return services_; }

 private:
  std::vector<NodeIndex> add_sequence(const std::vector<flow::Step>& steps,
                                      std::vector<NodeIndex> after, int parent,
                                      bool on_compensated = false);

  std::shared_ptr<const flow::Flow> flow_;
  std::vector<PlanNode> nodes_;
  std::unordered_map<std::string_view, NodeIndex> by_name_;
  std::vector<std::string> events_;
  std::vector<std::string> services_;
};

// The flows the engine runs, by name and version. A saga stays on the version it started with;
// new sagas take the latest. Safe to read from several threads while flows are added.
class FlowRegistry {
 public:
  // Adds (or replaces) a flow version and returns its plan.
  std::shared_ptr<const Plan> add(std::shared_ptr<const flow::Flow> flow);
  // version 0 = the latest.
  std::shared_ptr<const Plan> find(std::string_view name, int version = 0) const;
  std::vector<std::shared_ptr<const Plan>> all() const;
  // The latest version of every flow that this event type starts.
  std::vector<std::shared_ptr<const Plan>> triggered_by(std::string_view event_type) const;
  // For routing an outside event: every path at which some flow's wait looks for the key.
  std::vector<flow::Path> event_key_paths(std::string_view event_type) const;

 private:
  void index_event_keys(const Plan& plan);

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::map<int, std::shared_ptr<const Plan>>, std::less<>> plans_;
  std::map<std::string, std::vector<flow::Path>, std::less<>> event_keys_;
};

}  // namespace sagaflow
