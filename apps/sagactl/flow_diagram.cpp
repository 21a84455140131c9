#include "flow_diagram.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace sagactl {
namespace {

using sagaflow::Plan;
using sagaflow::flow::CompensationVariant;
using sagaflow::flow::Expression;
using sagaflow::flow::FailureEventAction;
using sagaflow::flow::PathRoot;
using sagaflow::flow::RetryPolicy;
using sagaflow::flow::Step;
using sagaflow::flow::StepKind;

// ---------------------------------------------------------------------------------------------
// Statements: one Mermaid line each, with the lifelines it touches (declared in order of first
// use) and how it moves the block nesting (for indentation).

enum class Nesting { none, open, middle, close };

struct Statement {
  std::string text;
  std::vector<std::string> actors;  // participant ids
  Nesting nesting = Nesting::none;
};
using Block = std::vector<Statement>;

void append(Block& to, Block from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

// Message and label text: Mermaid ends a statement at ';' and reads '#' as an entity, and the
// renderer would take '<' and '>' for markup, so those are written as entity codes.
std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '#':
        out += "#35;";
        break;
      case ';':
        out += "#59;";
        break;
      case '<':
        out += "#60;";
        break;
      case '>':
        out += "#62;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

// `keyword label ... end` around a block (keyword: loop, opt, alt, par).
Block wrap(std::string_view keyword, std::string_view label, Block body) {
  Block out{{std::string(keyword) + " " + escape(label), {}, Nesting::open}};
  append(out, std::move(body));
  out.push_back({"end", {}, Nesting::close});
  return out;
}

// Sections of one `alt`/`par` block: [(label, body)...]; `middle` is "else" or "and".
Block sections(std::string_view keyword, std::string_view middle,
               std::vector<std::pair<std::string, Block>> parts) {
  Block out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out.push_back({std::string(i == 0 ? keyword : middle) + " " + escape(parts[i].first),
                   {},
                   i == 0 ? Nesting::open : Nesting::middle});
    append(out, std::move(parts[i].second));
  }
  out.push_back({"end", {}, Nesting::close});
  return out;
}

bool is_mermaid_keyword(std::string_view word) {
  static const std::set<std::string, std::less<>> keywords{
      "actor",   "activate",    "alt",        "and",      "as",         "autonumber",
      "box",     "break",       "create",     "critical", "deactivate", "destroy",
      "details", "else",        "end",        "left",     "link",       "links",
      "loop",    "note",        "of",         "opt",      "option",     "over",
      "par",     "participant", "properties", "rect",     "right",      "sequencediagram",
      "title"};
  std::string lower(word);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return keywords.contains(lower);
}

// Lifelines: the orchestrator plus every service and event source, each with an id that Mermaid
// parses whatever the name is (a keyword, a dash).
class Participants {
 public:
  static constexpr std::string_view kOrchestrator = "Orchestrator";

  Participants() { ids_.emplace(std::string(kOrchestratorKey), std::string(kOrchestrator)); }

  const std::string& orchestrator() const { return ids_.at(std::string(kOrchestratorKey)); }

  const std::string& id(const std::string& name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    std::string id;
    for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0])) || is_mermaid_keyword(id) ||
        taken(id)) {
      id = "p_" + id;
      const std::string base = id;
      for (int n = 2; taken(id); ++n) id = base + "_" + std::to_string(n);
    }
    names_[id] = name;
    return ids_.emplace(name, std::move(id)).first->second;
  }

  std::string declaration(const std::string& id) const {
    auto it = names_.find(id);
    if (it == names_.end() || it->second == id) return "participant " + id;
    return "participant " + id + " as " + escape(it->second);
  }

 private:
  static constexpr std::string_view kOrchestratorKey = " orchestrator";  // no service has a space
  bool taken(const std::string& id) const { return id == kOrchestrator || names_.contains(id); }
  std::map<std::string, std::string> ids_;    // name -> id
  std::map<std::string, std::string> names_;  // id -> name (services and sources)
};

// Where an outside event comes from: the flow's service its name starts with (payment.failed ->
// payments, All_Payments -> payments), else a lifeline named after that prefix (All_SalesOrder ->
// SalesOrder). The flow file does not say; this is a reading of the usual naming.
std::string event_source(const std::string& event, const std::vector<std::string>& services) {
  std::string stem = event;
  if (stem.size() > 4 && (stem.starts_with("All_") || stem.starts_with("all_"))) {
    stem = stem.substr(4);
  }
  stem = stem.substr(0, stem.find('.'));
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
  };
  const std::string l = lower(stem);
  for (const auto& service : services) {
    const std::string s = lower(service);
    if (s == l || s == l + "s" || l == s + "s") return service;
  }
  return stem.empty() ? event : stem;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

// "failed for good: 3 attempts, or at once on InsufficientPoints".
std::string failure_text(const RetryPolicy& retry) {
  std::string text = "failed for good: ";
  text += retry.max_attempts == 1 ? std::string("no retry")
                                  : std::to_string(retry.max_attempts) + " attempts";
  if (!retry.non_retryable.empty()) text += ", or at once on " + join(retry.non_retryable, ", ");
  return text;
}

// ---------------------------------------------------------------------------------------------
// One path of a flow: the happy path (no failing step) or the failure of one step.

class PathWriter {
 public:
  PathWriter(const Plan& plan, Participants& participants, int failing)
      : plan_(plan), flow_(plan.flow()), p_(participants), failing_(failing) {
    if (failing_ < 0) return;
    for (int n = plan_.node(failing_).parent; n != sagaflow::kNoParent; n = plan_.node(n).parent) {
      ancestors_.insert(n);
    }
    // Steps that run only after the failing one can never have run: their results are null, so
    // a compensation variant's condition that reads only them is known.
    absent_.assign(plan_.nodes().size(), false);
    for (std::size_t i = 0; i < plan_.nodes().size(); ++i) {
      const auto& node = plan_.node(static_cast<sagaflow::NodeIndex>(i));
      if (node.on_compensated) continue;
      absent_[i] = std::any_of(node.after.begin(), node.after.end(), [&](auto d) {
        return static_cast<int>(d) == failing_ || absent_[d];
      });
    }
    // A failed command leaves no result; a wait without `until` has none until an event ends
    // it. A foreach has its array from the start, and an `until` wait its last event.
    const auto& step = *plan_.node(failing_).step;
    if (step.kind == StepKind::command || (step.kind == StepKind::wait && !step.wait.until)) {
      absent_[failing_] = true;
    }
  }

  Block render() {
    Block body;
    if (flow_.trigger) {
      body.push_back(event_message(flow_.trigger->event, flow_.trigger->event));
    }
    forward(flow_.steps, body);
    if (failing_ < 0) {
      body.push_back(note("saga completed"));
      return body;
    }
    Block undo = undo_sequence(flow_.steps, false);
    if (undo.empty()) {
      body.push_back(note("nothing to undo"));
    } else {
      body.push_back(note("compensate, latest completion first"));
      append(body, std::move(undo));
    }
    for (const auto& step : flow_.on_compensated) append(body, after_compensation(step));
    body.push_back(note("saga compensated"));
    return body;
  }

 private:
  // --- statements ------------------------------------------------------------------------------
  const std::string& orchestrator() const { return p_.orchestrator(); }

  Statement message(const std::string& from, std::string_view arrow, const std::string& to,
                    std::string_view text) {
    return {from + std::string(arrow) + to + ": " + escape(text), {from, to}};
  }
  Statement note(std::string_view text) {
    return {"Note over " + orchestrator() + ": " + escape(text), {orchestrator()}};
  }
  Block command(const std::string& service, const std::string& name, bool fails = false,
                const RetryPolicy* retry = nullptr) {
    const auto& id = p_.id(service);
    Block out{message(orchestrator(), "->>", id, name)};
    if (fails) {
      out.push_back(message(id, "--x", orchestrator(), failure_text(*retry)));
    } else {
      out.push_back(message(id, "-->>", orchestrator(), "ok"));
    }
    return out;
  }
  // An outside event arriving: from its source, asynchronous.
  Statement event_message(const std::string& event, std::string_view text) {
    return message(p_.id(event_source(event, plan_.services())), "-)", orchestrator(), text);
  }
  // Events that complete a wait: one message per source ("a or b" when they share one).
  Block events_arriving(const std::vector<std::string>& events) {
    std::vector<std::pair<std::string, std::vector<std::string>>> by_source;
    for (const auto& event : events) {
      auto source = event_source(event, plan_.services());
      auto it = std::find_if(by_source.begin(), by_source.end(),
                             [&](const auto& entry) { return entry.first == source; });
      if (it == by_source.end()) {
        by_source.push_back({source, {event}});
      } else {
        it->second.push_back(event);
      }
    }
    if (by_source.size() == 1) {
      return {event_message(events.front(), join(by_source.front().second, " or "))};
    }
    std::vector<std::pair<std::string, Block>> parts;
    for (const auto& [source, names] : by_source) {
      auto text = join(names, " or ");
      parts.push_back({text, {event_message(names.front(), text)}});
    }
    return sections("alt", "else", std::move(parts));
  }

  // --- going forward ---------------------------------------------------------------------------
  bool contains_failing(const Step& step) const {
    if (failing_ < 0) return false;
    const int index = plan_.find(step.name);
    return index == failing_ || ancestors_.contains(index);
  }
  bool is_failing(const Step& step) const {
    return failing_ >= 0 && plan_.find(step.name) == failing_;
  }

  // Renders a sequence of steps going forward; returns true when it reached the failing step,
  // after which nothing new starts.
  bool forward(const std::vector<Step>& steps, Block& out) {
    for (const auto& step : steps) {
      if (contains_failing(step)) {
        append(out, is_failing(step) ? failing_step(step) : parallel_forward(step));
        return true;
      }
      Block block = forward_step(step);
      if (step.when) block = wrap("opt", step.when->text(), std::move(block));
      append(out, std::move(block));
      if (step.pivot) {
        out.push_back(note("pivot " + step.name +
                           " done: from here only forward, a failure is retried then parks"));
      }
    }
    return false;
  }

  Block forward_step(const Step& step) {
    switch (step.kind) {
      case StepKind::command:
        return command(step.command.service, step.command.name);
      case StepKind::publish:
        return {note("publish " + step.event)};
      case StepKind::wait:
        return wait_forward(step);
      case StepKind::foreach:
        return wrap("loop", "each of " + step.items.text + ", all at once",
                    command(step.command.service, step.command.name));
      case StepKind::parallel:
        return parallel_forward(step);
      case StepKind::subflow:
        return {note("start flow " + step.subflow + " as a child saga, await its end")};
    }
    return {};
  }

  Block wait_forward(const Step& step) {
    const auto& wait = step.wait;
    Block body = events_arriving(wait.events);
    if (wait.each_event) {
      append(body, command(wait.each_event->command.service, wait.each_event->command.name));
    }
    if (!wait.until) return body;
    return wrap("loop", "until " + wait.until->text(), std::move(body));
  }

  Block parallel_forward(const Step& step) {
    std::vector<std::pair<std::string, Block>> parts;
    const bool failing_inside = contains_failing(step);
    for (const auto& branch : step.branches) {
      Block block;
      bool has_failing = forward(branch, block);
      std::string label = step.name + ": " + branch.front().name;
      if (failing_inside && !has_failing) label += ", as far as it got";
      parts.push_back({std::move(label), std::move(block)});
    }
    return sections("par", "and", std::move(parts));
  }

  // --- the failure ---------------------------------------------------------------------------
  Block failing_step(const Step& step) {
    switch (step.kind) {
      case StepKind::command:
        return command(step.command.service, step.command.name, true, &step.retry);
      case StepKind::foreach: {
        const auto& id = p_.id(step.command.service);
        Block body{message(orchestrator(), "->>", id, step.command.name)};
        append(body, sections("alt", "else",
                              {{"the failing item",
                                {message(id, "--x", orchestrator(), failure_text(step.retry))}},
                               {"the others", {message(id, "-->>", orchestrator(), "ok")}}}));
        return wrap("loop", "each of " + step.items.text + ", all at once", std::move(body));
      }
      case StepKind::wait:
        return wait_failing(step);
      default:
        return {};  // publish and parallel steps do not fail themselves
    }
  }

  Block wait_failing(const Step& step) {
    const auto& wait = step.wait;
    std::vector<std::pair<std::string, Block>> causes;
    if (wait.on_failure_event == FailureEventAction::compensate) {
      for (const auto& event : wait.failure_events) {
        causes.push_back({event, {event_message(event, event)}});
      }
    }
    if (wait.each_event) {
      const auto& each = *wait.each_event;
      Block block = events_arriving(wait.events);
      append(block, command(each.command.service, each.command.name, true, &each.retry));
      causes.push_back({each.command.name + " fails", std::move(block)});
    }
    causes.push_back({"timeout " + format_duration(wait.timeout),
                      {note(step.name + " times out after " + format_duration(wait.timeout))}});
    if (causes.size() == 1) return std::move(causes.front().second);
    return sections("alt", "else", std::move(causes));
  }

  // --- compensating --------------------------------------------------------------------------
  // The undo of a sequence in the order the engine runs it: the step holding the failure first
  // (it finished last), then the completed ones in reverse. `uncertain`: the steps may or may
  // not have completed (a sibling branch of the failure stops where it got).
  Block undo_sequence(const std::vector<Step>& steps, bool uncertain) {
    Block out;
    std::size_t stop = steps.size();
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (!contains_failing(steps[i])) continue;
      stop = i;
      append(out, is_failing(steps[i]) ? undo_failing(steps[i]) : undo_parallel(steps[i], false));
      break;
    }
    for (std::size_t i = stop; i-- > 0;) append(out, undo_step(steps[i], uncertain));
    return out;
  }

  // The failed step is compensated only when one of its attempts timed out (it may have been
  // applied); a foreach's items that completed are compensated with it.
  Block undo_failing(const Step& step) {
    if (!step.compensation) return {};
    if (step.kind == StepKind::foreach) {
      return wrap("loop",
                  "each item of " + step.name + " that completed (or timed out), latest first",
                  compensation(step));
    }
    return wrap("opt", "an attempt of " + step.name + " timed out: it may have been applied",
                compensation(step));
  }

  Block undo_step(const Step& step, bool uncertain) {
    Block block;
    if (step.kind == StepKind::parallel) {
      block = undo_parallel(step, uncertain);
    } else if (step.compensation) {
      block = compensation(step);
      if (step.kind == StepKind::foreach) {
        block = wrap("loop", "each item of " + step.name + ", latest first", std::move(block));
      }
      if (uncertain) {
        return block.empty()
                   ? block
                   : wrap("opt", step.name + " completed before the failure", std::move(block));
      }
    }
    if (block.empty() || !step.when) return block;
    return wrap("opt", step.name + " ran: " + step.when->text(), std::move(block));
  }

  // Branches are undone together, one compensation at a time, latest completion first: the
  // order between branches depends on when their steps completed.
  Block undo_parallel(const Step& step, bool uncertain) {
    const bool failing_inside = contains_failing(step);
    std::vector<std::pair<std::string, Block>> parts;
    for (const auto& branch : step.branches) {
      const bool has_failing = std::any_of(branch.begin(), branch.end(),
                                           [&](const Step& s) { return contains_failing(s); });
      Block block = undo_sequence(branch, uncertain || (failing_inside && !has_failing));
      if (!block.empty()) parts.push_back({"undo " + branch.front().name, std::move(block)});
    }
    if (parts.empty()) return {};
    if (parts.size() == 1) return std::move(parts.front().second);
    Block out{note(step.name + ": branches interleave, latest completion first")};
    append(out, sections("par", "and", std::move(parts)));
    return out;
  }

  // The step's compensation: the first variant whose `when` holds. A `when` that reads only
  // steps that cannot have run is decided here; any other becomes an alt (or opt) section.
  Block compensation(const Step& step) {
    std::vector<std::pair<std::optional<std::string>, const CompensationVariant*>> live;
    for (const auto& variant : step.compensation->variants) {
      std::optional<bool> known = variant.when ? decided(*variant.when) : std::optional(true);
      if (known == false) continue;
      if (known == true) {
        live.push_back({std::nullopt, &variant});
        break;
      }
      live.push_back({variant.when->text(), &variant});
    }
    auto undo = [&](const CompensationVariant& variant) {
      const auto& id = p_.id(variant.command.service);
      return Block{
          message(orchestrator(), "->>", id, variant.command.name + " (undo " + step.name + ")"),
          message(id, "-->>", orchestrator(), "ok")};
    };
    if (live.empty()) return {};
    if (live.size() == 1) {
      if (!live.front().first) return undo(*live.front().second);
      return wrap("opt", *live.front().first, undo(*live.front().second));
    }
    std::vector<std::pair<std::string, Block>> parts;
    for (const auto& [when, variant] : live) {
      parts.push_back({when.value_or("otherwise"), undo(*variant)});
    }
    return sections("alt", "else", std::move(parts));
  }

  // The value of a condition that reads only results known to be null on this path.
  std::optional<bool> decided(const Expression& expression) const {
    if (failing_ < 0) return std::nullopt;
    for (const auto* path : expression.paths()) {
      if (path->root != PathRoot::steps) return std::nullopt;
      const int index = plan_.find(path->step_name());
      if (index < 0 || !absent_[index]) return std::nullopt;
    }
    const sagaflow::json::object none;
    return expression.test(sagaflow::flow::Scope{.steps = &none});
  }

  // What runs once the compensation is done (on_compensated: command and publish steps).
  Block after_compensation(const Step& step) {
    std::optional<bool> run = step.when ? decided(*step.when) : std::optional(true);
    if (run == false) return {};
    Block block = step.kind == StepKind::publish ? Block{note("publish " + step.event)}
                                                 : command(step.command.service, step.command.name);
    if (run == true) return block;
    return wrap("opt", step.when->text(), std::move(block));
  }

  const Plan& plan_;
  const sagaflow::flow::Flow& flow_;
  Participants& p_;
  int failing_;
  std::set<int> ancestors_;   // parallel steps around the failing step
  std::vector<bool> absent_;  // nodes certainly not completed on this path
};

std::string to_mermaid(const Block& body, const Participants& participants,
                       const std::string& orchestrator) {
  std::vector<std::string> order{orchestrator};
  for (const auto& statement : body) {
    for (const auto& actor : statement.actors) {
      if (std::find(order.begin(), order.end(), actor) == order.end()) order.push_back(actor);
    }
  }
  std::string out = "sequenceDiagram\n";
  for (const auto& id : order) out += "  " + participants.declaration(id) + "\n";
  int depth = 1;
  for (const auto& statement : body) {
    if (statement.nesting == Nesting::close) --depth;
    const int indent = statement.nesting == Nesting::middle ? depth - 1 : depth;
    out += std::string(static_cast<std::size_t>(indent) * 2, ' ') + statement.text + "\n";
    if (statement.nesting == Nesting::open) ++depth;
  }
  return out;
}

// Steps whose failure compensates: commands, foreach steps and waits, up to the pivot.
std::vector<int> failing_candidates(const Plan& plan) {
  std::vector<int> out;
  bool past_pivot = false;
  for (std::size_t i = 0; i < plan.nodes().size(); ++i) {
    const auto& node = plan.node(static_cast<sagaflow::NodeIndex>(i));
    if (node.on_compensated) continue;
    if (node.parent == sagaflow::kNoParent && past_pivot) break;
    const auto kind = node.step->kind;
    if (kind == StepKind::command || kind == StepKind::foreach || kind == StepKind::wait) {
      out.push_back(static_cast<int>(i));
    }
    if (node.step->pivot) past_pivot = true;
  }
  return out;
}

}  // namespace

std::vector<DiagramPath> diagram_paths(const Plan& plan) {
  std::vector<DiagramPath> out;
  auto render = [&](std::string name, int failing) {
    Participants participants;
    PathWriter writer(plan, participants, failing);
    auto body = writer.render();
    out.push_back({std::move(name), to_mermaid(body, participants, participants.orchestrator())});
  };
  render("happy", -1);
  for (int index : failing_candidates(plan)) {
    render(plan.node(static_cast<sagaflow::NodeIndex>(index)).step->name, index);
  }
  return out;
}

std::string format_duration(std::chrono::milliseconds duration) {
  static constexpr std::pair<long long, const char*> kUnits[] = {
      {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
  long long left = duration.count();
  if (left <= 0) return "0s";
  std::string out;
  for (const auto& [size, unit] : kUnits) {
    if (left < size) continue;
    out += std::to_string(left / size) + unit;
    left %= size;
  }
  return out;
}

}  // namespace sagactl
