#include "sagaflow/simulation/simulator.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/simulation/world.hpp"
#include "sagaflow/worker/dispatcher.hpp"

namespace sagaflow::simulation {

namespace {

using flow::Step;
using flow::StepKind;

constexpr int kMaxRounds = 10'000;
constexpr int kItems = 2;  // every generated array has two items

// --- what the flow is made of -------------------------------------------------------------------

// A command the flow sends going forward, by its activity key.
struct Target {
  std::string activity;
  const Step* step = nullptr;
  bool past_pivot = false;
  bool item = false;        // a foreach item
  bool each_event = false;  // a wait's each_event command
};

// Nodes after the first top-level pivot (in plan order) are past it.
int pivot_node(const Plan& plan) {
  for (std::size_t i = 0; i < plan.nodes().size(); ++i) {
    const auto& node = plan.node(static_cast<NodeIndex>(i));
    if (node.step->pivot && !node.on_compensated) return static_cast<int>(i);
  }
  return -1;
}

std::vector<Target> targets(const Plan& plan) {
  std::vector<Target> out;
  const int pivot = pivot_node(plan);
  for (std::size_t i = 0; i < plan.nodes().size(); ++i) {
    const auto& node = plan.node(static_cast<NodeIndex>(i));
    if (node.on_compensated) continue;
    const Step& step = *node.step;
    const bool past = pivot >= 0 && static_cast<int>(i) > pivot;
    if (step.kind == StepKind::command) out.push_back({step.name, &step, past});
    if (step.kind == StepKind::foreach) {
      for (int item = 0; item < kItems; ++item) {
        out.push_back({step.name + "[" + std::to_string(item) + "]", &step, past, true});
      }
    }
    if (step.kind == StepKind::wait && step.wait.each_event) {
      out.push_back({step.name + "[0]", &step, past, false, true});
    }
  }
  return out;
}

// --- the generated data -------------------------------------------------------------------------

// Fields the flow reads from `$item`, so that generated array items carry them.
std::set<std::string> item_fields(const flow::Flow& flow) {
  std::set<std::string> out;
  const auto collect = [&out](const flow::Mapping& mapping) {
    for (const auto* path : mapping.paths()) {
      if (path->root == flow::PathRoot::item && !path->segments.empty()) {
        out.insert(path->segments.front());
      }
    }
  };
  for (const auto& step : flow.steps) {
    collect(step.command.input);
    if (step.output) collect(*step.output);
    if (step.compensation) {
      for (const auto& variant : step.compensation->variants) collect(variant.command.input);
    }
  }
  return out;
}

json::value sample(const flow::InputField& field, const std::set<std::string>& items,
                   const std::string& name) {
  switch (field.type) {
    case flow::FieldType::integer:
    case flow::FieldType::number:
      return 1;
    case flow::FieldType::boolean:
      return true;
    case flow::FieldType::object: {
      json::object out;
      for (const auto& f : field.fields) out[f.name] = sample(f, items, f.name);
      return out;
    }
    case flow::FieldType::array: {
      json::array out;
      for (int i = 0; i < kItems; ++i) {
        if (field.items) {
          out.push_back(sample(*field.items, items, name + std::to_string(i)));
          continue;
        }
        json::object item;
        for (const auto& f : items) item[f] = f + "-" + std::to_string(i);
        out.push_back(std::move(item));
      }
      return out;
    }
    default:
      return json::string(name + "-value");
  }
}

json::value generated_input(const flow::Flow& flow) {
  const auto items = item_fields(flow);
  json::object input;
  for (const auto& field : flow.input.fields) input[field.name] = sample(field, items, field.name);
  return input;
}

// A success reply carries every field the step's output reads from `$reply`.
json::value generated_reply(const Step& step, const std::string& activity) {
  json::object reply;
  if (!step.output) return reply;
  for (const auto* path : step.output->paths()) {
    if (path->root == flow::PathRoot::reply && !path->segments.empty()) {
      reply[path->segments.front()] = path->segments.front() + "-" + activity;
    }
  }
  return reply;
}

// An event that carries `key` where the wait looks for it, and (for a wait with `until`) values
// that make `until` hold: each field `until` reads is tried with true, 0, 1 and a string.
json::value generated_event(const Step& step, const std::string& key, const json::value& input,
                            bool failure) {
  json::value event = json::object{};
  const auto put = [](json::value& at, const std::vector<std::string>& segments,
                      json::value value) {
    json::value* cursor = &at;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (!cursor->is_object()) *cursor = json::object{};
      cursor = &cursor->as_object()[segments[i]];
    }
    *cursor = std::move(value);
  };
  put(event, step.wait.key.segments, json::string(key));
  if (failure || !step.wait.until) return event;
  std::vector<const flow::Path*> fields;
  for (const auto* path : step.wait.until->paths()) {
    if (path->root == flow::PathRoot::event && !path->segments.empty()) fields.push_back(path);
  }
  static const std::array<json::value, 4> kValues{true, 0, 1, "x"};
  std::size_t combinations = 1;
  for (std::size_t i = 0; i < fields.size() && combinations < 4096; ++i) combinations *= 4;
  const json::object steps;
  for (std::size_t c = 0; c < combinations; ++c) {
    json::value candidate = event;
    std::size_t code = c;
    for (const auto* path : fields) {
      put(candidate, path->segments, kValues[code % 4]);
      code /= 4;
    }
    if (step.wait.until->test(flow::Scope{.input = &input, .steps = &steps, .event = &candidate})) {
      return candidate;
    }
  }
  return event;
}

// --- the generated participants and their ledger ------------------------------------------------

struct HeldReply {
  Message reply;
  bool late = false;  // delivered after compensation began, not at the cancel
};

class Participants {
 public:
  Participants(World& world, const Plan& plan, const std::vector<Fault>& faults)
      : world_(world), plan_(plan), faults_(faults) {}

  std::optional<Message> answer(const Message& command) {
    return is_compensation(command) ? undo(command) : apply(command);
  }

  // The operator fixed what was wrong, refusals the participants remembered included.
  void operator_retried() {
    retried_ = true;
    std::erase_if(remembered_,
                  [](const auto& entry) { return entry.second.outcome != ReplyOutcome::success; });
  }
  std::vector<HeldReply> take_held() { return std::exchange(held_, {}); }

  std::map<std::string, int> applied;  // activity -> effects applied (0 or 1: keys dedupe)
  std::map<std::string, int> undone;   // activity -> effects undone
  std::vector<std::string> order_violations;

 private:
  // Once an operator retried the parked saga, whatever was wrong has been fixed.
  bool has(FaultKind kind, const std::string& activity) const {
    if (retried_) return false;
    return std::any_of(faults_.begin(), faults_.end(),
                       [&](const Fault& f) { return f.kind == kind && f.activity == activity; });
  }

  const Step& step_of(const std::string& activity) const {
    return *plan_.node(static_cast<NodeIndex>(plan_.find(activity.substr(0, activity.find('[')))))
                .step;
  }

  std::optional<Message> apply(const Message& command) {
    const std::string& activity = command.step;
    forward_seen_[activity] += 1;
    if (auto known = remembered_.find(command.idempotency_key); known != remembered_.end()) {
      return worker::make_reply(command, known->second);
    }
    if (has(FaultKind::business_failure, activity)) {
      return remember(command, worker::Result::business_failure("SimulatedRefusal"));
    }
    if (has(FaultKind::retries_exhausted, activity)) {
      return worker::make_reply(command, worker::Result::technical_error("SimulatedOutage"));
    }
    applied[activity] = 1;
    auto reply =
        remember(command, worker::Result::ok(generated_reply(step_of(activity), activity)));
    if (has(FaultKind::timeout_after_effect, activity)) return std::nullopt;
    if (has(FaultKind::lost_reply_duplicate, activity)) {
      world_.deliver(reply);  // the redelivered command answered from the participant's memory
      world_.deliver(reply);  // and that answer delivered twice
      return std::nullopt;
    }
    if (has(FaultKind::cancel, activity) || has(FaultKind::late_reply, activity)) {
      held_.push_back({reply, has(FaultKind::late_reply, activity)});
      return std::nullopt;
    }
    return reply;
  }

  std::optional<Message> undo(const Message& command) {
    const std::string& activity = command.step;
    if (forward_seen_[activity] == 0) {
      order_violations.push_back("the compensation of " + activity +
                                 " was sent before its command was");
    }
    if (has(FaultKind::compensation_parks, activity)) {
      return worker::make_reply(command, worker::Result::technical_error("SimulatedOutage"));
    }
    if (auto known = remembered_.find(command.idempotency_key); known != remembered_.end()) {
      return worker::make_reply(command, known->second);
    }
    if (applied[activity] > 0) undone[activity] += 1;
    return remember(command, worker::Result::ok());
  }

  // What a participant remembers by idempotency key, to answer a later attempt of the same
  // command as the worker library does (addressed to that attempt).
  Message remember(const Message& command, const worker::Result& result) {
    remembered_[command.idempotency_key] = result;
    return worker::make_reply(command, result);
  }

  World& world_;
  const Plan& plan_;
  const std::vector<Fault>& faults_;
  bool retried_ = false;
  std::map<std::string, int> forward_seen_;
  std::map<std::string, worker::Result> remembered_;
  std::vector<HeldReply> held_;
};

// --- running one case ---------------------------------------------------------------------------

// A compensation is only run when something later fails: the last forward command before the
// pivot that comes after `activity` is refused (or, when there is none, the saga is cancelled
// while `activity`'s command is out).
Fault compensation_cause(const std::vector<Target>& all, const std::string& activity) {
  const Target* cause = nullptr;
  bool after = false;
  for (const auto& target : all) {
    if (target.activity == activity) {
      after = true;
      continue;
    }
    if (after && !target.past_pivot && !target.each_event && target.step->kind != StepKind::wait) {
      cause = &target;
    }
  }
  if (cause == nullptr) return {FaultKind::cancel, activity};
  return {FaultKind::business_failure, cause->activity};
}

// An operator's cancel; a refused one (the saga is past its pivot or already ending) changes
// nothing.
void cancel(World& world, const std::string& id) {
  try {
    world.cancel(id, "simulated cancel");
  } catch (const std::exception&) {
  }
}

bool ended(const std::string& status) {
  auto parsed = status_from_string(status);
  return parsed && is_final(*parsed);
}

struct ActiveWait {
  std::string step;
  std::string key;
};

// The waits started and not yet answered by the driver, from the saga's history.
std::vector<ActiveWait> started_waits(World& world, const std::string& id) {
  std::vector<ActiveWait> out;
  for (const auto& row : world.history(id)) {
    if (row.kind != "wait_started") continue;
    boost::system::error_code error;
    auto detail = json::parse(row.detail, error);
    std::string key;
    if (!error && detail.is_object() && detail.as_object().contains("key") &&
        detail.as_object().at("key").is_string()) {
      key = std::string(detail.as_object().at("key").as_string());
    }
    out.push_back({row.step, key});
  }
  return out;
}

void check(CaseReport& report, const Plan& plan, World& world, const std::string& id,
           const Participants& participants) {
  const auto& status = report.status;
  auto& ends = report.checks[0];
  auto& undone = report.checks[1];
  auto& order = report.checks[2];
  auto& on_compensated = report.checks[3];
  if (!ended(status)) {
    ends.ok = false;
    ends.detail = "the saga is still " + status;
  }
  const bool unwound = status == "compensated" || status == "cancelled";
  const bool completed = status == "completed";
  undone.applies = unwound || completed;
  for (const auto& [activity, count] : participants.applied) {
    if (count == 0 || !undone.applies) continue;
    const auto& node =
        plan.node(static_cast<NodeIndex>(plan.find(activity.substr(0, activity.find('[')))));
    if (node.on_compensated || node.step->kind == StepKind::wait) continue;  // bookkeeping
    const auto found = participants.undone.find(activity);
    const int times = found == participants.undone.end() ? 0 : found->second;
    std::string problem;
    if (completed && times > 0) {
      problem = activity + " was undone although the saga completed";
    } else if (unwound && !node.step->irreversible && times != 1) {
      problem = times == 0 ? "the effect of " + activity + " was never undone"
                           : activity + " was undone " + std::to_string(times) + " times";
    }
    if (problem.empty()) continue;
    undone.ok = false;
    undone.detail += (undone.detail.empty() ? "" : "; ") + problem;
  }
  for (const auto& violation : participants.order_violations) {
    order.ok = false;
    order.detail += (order.detail.empty() ? "" : "; ") + violation;
  }
  const auto& steps = plan.flow().on_compensated;
  on_compensated.applies = !steps.empty() && (unwound || completed);
  if (!on_compensated.applies) return;
  const auto history = world.history(id);
  for (const auto& step : steps) {
    const bool sent = std::any_of(world.sent().begin(), world.sent().end(), [&](const Message& m) {
      return m.correlation_id == id && m.step == step.name;
    });
    const bool skipped = std::any_of(history.begin(), history.end(), [&](const HistoryRow& row) {
      return row.kind == "step_skipped" && row.step == step.name;
    });
    if (unwound && !sent && !skipped) {
      on_compensated.ok = false;
      on_compensated.detail += "on_compensated step " + step.name + " did not run; ";
    }
    if (completed && sent) {
      on_compensated.ok = false;
      on_compensated.detail += "on_compensated step " + step.name + " ran on completion; ";
    }
  }
}

}  // namespace

const char* to_string(Check check) {
  switch (check) {
    case Check::ends:
      return "ends";
    case Check::undone:
      return "undone";
    case Check::order:
      return "order";
    case Check::on_compensated:
      return "on_compensated";
  }
  return "?";
}

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::business_failure:
      return "business failure";
    case FaultKind::retries_exhausted:
      return "retries exhausted";
    case FaultKind::timeout_after_effect:
      return "timeout after effect";
    case FaultKind::lost_reply_duplicate:
      return "lost reply, duplicate";
    case FaultKind::late_reply:
      return "reply after compensation began";
    case FaultKind::cancel:
      return "cancel";
    case FaultKind::wait_timeout:
      return "wait timeout";
    case FaultKind::failure_event:
      return "failure event";
    case FaultKind::compensation_parks:
      return "compensation parks, operator retry";
  }
  return "?";
}

std::string SimulationCase::name() const {
  if (faults.empty()) return "happy path";
  std::string out;
  for (const auto& fault : faults) {
    out += (out.empty() ? "" : " + ") + fault.activity + ": " + to_string(fault.kind);
  }
  return out;
}

bool CaseReport::violated() const {
  return std::any_of(checks.begin(), checks.end(),
                     [](const CheckResult& c) { return c.applies && !c.ok; });
}

std::vector<SimulationCase> failure_cases(const Plan& plan, int depth) {
  std::vector<Fault> single;
  for (const auto& target : targets(plan)) {
    const auto& step = *target.step;
    const bool first_item = !target.item || target.activity.ends_with("[0]");
    single.push_back({FaultKind::business_failure, target.activity});
    if (!first_item) continue;
    single.push_back({FaultKind::retries_exhausted, target.activity});
    if (target.each_event) continue;
    single.push_back({FaultKind::timeout_after_effect, target.activity});
    single.push_back({FaultKind::lost_reply_duplicate, target.activity});
    if (!target.past_pivot) {
      single.push_back({FaultKind::late_reply, target.activity});
      single.push_back({FaultKind::cancel, target.activity});
    }
    if (step.compensation && !target.past_pivot) {
      single.push_back({FaultKind::compensation_parks, target.activity});
    }
  }
  for (const auto& node : plan.nodes()) {
    if (node.on_compensated || node.step->kind != StepKind::wait) continue;
    single.push_back({FaultKind::wait_timeout, node.step->name});
    single.push_back({FaultKind::cancel, node.step->name});
    if (!node.step->wait.failure_events.empty()) {
      single.push_back({FaultKind::failure_event, node.step->name});
    }
  }
  std::vector<SimulationCase> cases{{}};
  for (const auto& fault : single) cases.push_back({{fault}});
  if (depth < 2) return cases;
  for (std::size_t i = 0; i < single.size(); ++i) {
    for (std::size_t j = i + 1; j < single.size(); ++j) {
      if (single[i].activity == single[j].activity) continue;
      cases.push_back({{single[i], single[j]}});
    }
  }
  return cases;
}

CaseReport simulate_case(const std::shared_ptr<const flow::Flow>& flow,
                         const SimulationCase& sim_case) {
  CaseReport report;
  report.sim_case = sim_case;
  World world;
  const auto plan = world.add_flow(flow);
  const auto all = targets(*plan);
  std::vector<Fault> faults = sim_case.faults;
  for (const auto& fault : sim_case.faults) {
    if (fault.kind == FaultKind::compensation_parks) {
      faults.push_back(compensation_cause(all, fault.activity));
    }
  }
  Participants participants(world, *plan, faults);
  world.serve_others(
      [&participants](const Message& command) { return participants.answer(command); });
  const auto has = [&faults](FaultKind kind, const std::string& activity) {
    return std::any_of(faults.begin(), faults.end(),
                       [&](const Fault& f) { return f.kind == kind && f.activity == activity; });
  };

  const json::value input = generated_input(*flow);
  const std::string id(kSimulatedSagaId);
  std::set<std::string> answered_waits;
  std::vector<Message> late;
  try {
    world.start(flow->name, input, {}, id);
    for (int round = 0; round < kMaxRounds; ++round) {
      // A held reply means an operator cancels now; it comes at once, or once the attempt timed
      // out and compensation began.
      for (auto& held : participants.take_held()) {
        cancel(world, id);  // the reply comes all the same
        if (held.late) {
          late.push_back(std::move(held.reply));
        } else {
          world.deliver(std::move(held.reply));
          world.settle();
        }
      }
      for (const auto& wait : started_waits(world, id)) {
        if (answered_waits.contains(wait.step) || world.status(id) != "waiting") continue;
        answered_waits.insert(wait.step);
        const auto& step = *plan->node(static_cast<NodeIndex>(plan->find(wait.step))).step;
        if (has(FaultKind::wait_timeout, wait.step)) continue;
        if (has(FaultKind::cancel, wait.step)) {
          cancel(world, id);
          continue;
        }
        const bool failure = has(FaultKind::failure_event, wait.step);
        const auto& type = failure ? step.wait.failure_events.front() : step.wait.events.front();
        world.publish_event(type, generated_event(step, wait.key, input, failure));
      }
      const auto status = world.status(id);
      if (status == "failed" && !report.retried) {
        report.retried = true;
        participants.operator_retried();
        world.retry(id);
        continue;
      }
      if (ended(status) || status == "failed") break;
      if (!world.advance_to_next_timer()) break;
      for (auto& reply : std::exchange(late, {})) {
        world.deliver(std::move(reply));
        world.settle();
      }
    }
    for (auto& reply : late) world.deliver(std::move(reply));  // must change nothing
    world.settle();
    report.status = world.status(id);
  } catch (const std::exception& e) {
    report.checks[0].ok = false;
    report.checks[0].detail = e.what();
    return report;
  }
  check(report, *plan, world, id, participants);
  report.history = world.history(id);
  return report;
}

}  // namespace sagaflow::simulation
