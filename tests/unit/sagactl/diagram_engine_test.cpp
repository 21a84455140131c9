// The diagrams against the engine itself: for every flow of definitions/ and every top-level
// step whose failure has a path, the flow runs on the real orchestrator (tests/flows'
// FlowWorld) with that step failing, and the commands and compensations it sends must be the
// ones its diagram draws, in the same order.
//
// Reading a diagram as one run: every participant answers, every optional input is given (so
// each `when` on data holds), a failed step failed at once (so "an attempt timed out" sections
// are left out), a foreach has two items of which the first fails, a wait is passed by one
// event or fails by its timeout, and an alt takes its first section (the timeout, for a wait).
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>

#include "flow_diagram.hpp"
#include "flows/flow_world.hpp"
#include "sagaflow/flow/loader.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using flow::Step;
using flow::StepKind;
using Strings = std::vector<std::string>;

namespace {

// --- reading a diagram as one run ---------------------------------------------------------------

struct Block;
struct Item {
  std::string line;              // a statement, or empty for a block
  std::shared_ptr<Block> block;  // loop, opt, alt, par
};
struct Section {
  std::string label;
  std::vector<Item> items;
};
struct Block {
  std::string keyword;
  std::vector<Section> sections;
};

std::vector<Item> parse(const std::vector<std::string>& lines, std::size_t& at) {
  std::vector<Item> items;
  while (at < lines.size()) {
    const std::string line = lines[at].substr(lines[at].find_first_not_of(' '));
    const auto space = line.find(' ');
    const std::string word = line.substr(0, space);
    if (line == "end" || word == "else" || word == "and") return items;
    ++at;
    if (word != "opt" && word != "alt" && word != "loop" && word != "par") {
      items.push_back({line, nullptr});
      continue;
    }
    auto block = std::make_shared<Block>();
    block->keyword = word;
    std::string label = line.substr(space + 1);
    for (;;) {
      Section section{label, parse(lines, at)};
      block->sections.push_back(std::move(section));
      REQUIRE(at < lines.size());
      const std::string next = lines[at].substr(lines[at].find_first_not_of(' '));
      ++at;
      if (next == "end") break;
      label = next.substr(next.find(' ') + 1);
    }
    items.push_back({{}, block});
  }
  return items;
}

struct Run {
  Strings commands;       // "service.name" going forward, on_compensated included
  Strings compensations;  // "service.name" of each undo
};

void walk(const std::vector<Item>& items, int times, Run& run) {
  static const std::regex command(R"(^Orchestrator->>(\w+): (\w+)( \(undo \w+\))?$)");
  for (const auto& item : items) {
    if (!item.block) {
      std::smatch m;
      if (!std::regex_match(item.line, m, command)) continue;
      auto& list = m[3].matched ? run.compensations : run.commands;
      for (int i = 0; i < times; ++i) list.push_back(m[1].str() + "." + m[2].str());
      continue;
    }
    const auto& block = *item.block;
    const auto& first = block.sections.front();
    if (block.keyword == "opt") {
      if (!first.label.starts_with("an attempt of")) walk(first.items, times, run);
    } else if (block.keyword == "loop") {
      const bool twice = first.label.starts_with("each of") ||
                         (first.label.starts_with("each item of") &&
                          first.label.find("that completed") == std::string::npos);
      walk(first.items, times * (twice ? 2 : 1), run);
    } else if (block.keyword == "alt") {
      const Section* chosen = &first;
      for (const auto& section : block.sections) {
        if (section.label.starts_with("timeout")) chosen = &section;
      }
      walk(chosen->items, times, run);
    } else {  // par: every branch
      for (const auto& section : block.sections) walk(section.items, times, run);
    }
  }
}

Run read_run(const std::string& mermaid) {
  std::vector<std::string> lines;
  std::istringstream in(mermaid);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::size_t at = 1;  // after "sequenceDiagram"
  Run run;
  walk(parse(lines, at), 1, run);
  return run;
}

// --- running the flow ---------------------------------------------------------------------------

json::value sample(flow::FieldType type) {
  switch (type) {
    case flow::FieldType::integer:
    case flow::FieldType::number:
      return 1;
    case flow::FieldType::boolean:
      return true;
    case flow::FieldType::object:
      return json::object{};
    case flow::FieldType::array:
      return json::array{json::object{{"orderLineId", "l0"}}, json::object{{"orderLineId", "l1"}}};
    default:
      return "x";
  }
}

// What each command type answers: every field its steps' outputs read from $reply, set.
std::map<std::string, json::object> replies(const Plan& plan) {
  std::map<std::string, json::object> out;
  for (const auto& node : plan.nodes()) {
    const auto& step = *node.step;
    if (step.kind != StepKind::command && step.kind != StepKind::foreach) continue;
    auto& reply = out[step.command.type()];
    if (!step.output) continue;
    for (const auto* path : step.output->paths()) {
      if (path->root == flow::PathRoot::reply && !path->segments.empty()) {
        reply[path->segments.front()] = "v";
      }
    }
  }
  return out;
}

Strings command_types(const Plan& plan) {
  Strings out;
  for (const auto& node : plan.nodes()) {
    const auto& step = *node.step;
    if (step.kind == StepKind::command || step.kind == StepKind::foreach) {
      out.push_back(step.command.type());
    }
    if (step.kind == StepKind::wait && step.wait.each_event) {
      out.push_back(step.wait.each_event->command.type());
    }
    if (step.compensation) {
      for (const auto& v : step.compensation->variants) out.push_back(v.command.type());
    }
  }
  return out;
}

// Whether one run can show this failure: the waits before it can be passed with one event, and
// failing its command type fails nothing else.
bool can_run(const Plan& plan, int failing) {
  const auto& failed = *plan.node(static_cast<NodeIndex>(failing)).step;
  if (plan.node(static_cast<NodeIndex>(failing)).parent != kNoParent) return false;
  for (int i = 0; i < failing; ++i) {
    const auto& step = *plan.node(static_cast<NodeIndex>(i)).step;
    if (step.kind == StepKind::wait) {
      if (step.wait.until) return false;
      for (const auto* path : step.wait.correlate.paths()) {
        if (path->root != flow::PathRoot::input) return false;
      }
    }
  }
  if (failed.kind == StepKind::wait) return true;
  const auto types = command_types(plan);
  return std::count(types.begin(), types.end(), failed.command.type()) == 1;
}

Run run_on_engine(const Plan& plan, int failing) {
  const auto& flow = plan.flow();
  const auto& failed = *plan.node(static_cast<NodeIndex>(failing)).step;
  std::map<std::string, std::unique_ptr<worker::Dispatcher>> dispatchers;
  const auto answers = replies(plan);
  for (const auto& type : command_types(plan)) {
    const auto service = type.substr(0, type.find('.'));
    auto& dispatcher = dispatchers[service];
    if (!dispatcher) dispatcher = std::make_unique<worker::Dispatcher>();
    if (dispatcher->handles(type)) continue;
    const bool fails = failed.kind != StepKind::wait && type == failed.command.type();
    const bool one_item = failed.kind == StepKind::foreach;
    auto answer = answers.contains(type) ? answers.at(type) : json::object{};
    dispatcher->on(type, [fails, one_item, answer](const worker::Command& c) {
      if (fails && (!one_item || c.message.step.ends_with("[0]"))) {
        return worker::Result::business_failure("Injected");
      }
      return worker::Result::ok(answer);
    });
  }
  std::string_view name = flow.name;
  testing::FlowWorld world{{name}};
  for (auto& [service, dispatcher] : dispatchers) world.serve(service, *dispatcher);

  json::object input;
  for (const auto& field : flow.input.fields) input[field.name] = sample(field.type);
  const json::value input_value = input;
  const auto id = world.start(flow.name, input);
  for (int i = 0; i < failing; ++i) {
    const auto& step = *plan.node(static_cast<NodeIndex>(i)).step;
    if (step.kind != StepKind::wait) continue;
    json::value key = step.wait.correlate.evaluate(flow::Scope{.input = &input_value});
    json::value payload = key;
    for (auto it = step.wait.key.segments.rbegin(); it != step.wait.key.segments.rend(); ++it) {
      payload = json::object{{*it, payload}};
    }
    world.publish_event(step.wait.events.front(), payload);
  }
  if (failed.kind == StepKind::wait) world.advance(failed.wait.timeout + 1s);
  CHECK(world.status(id) == "compensated");
  return {world.commands(id), world.compensations(id)};
}

}  // namespace

TEST_CASE("each failure path's diagram is what the engine does when that step fails") {
  int checked = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions")) {
    if (entry.path().extension() != ".yaml") continue;
    auto loaded = flow::load_flow_file(entry.path());
    REQUIRE(loaded.ok());
    const Plan plan(loaded.flow);
    for (const auto& path : sagactl::diagram_paths(plan)) {
      if (path.name == "happy") continue;
      const int failing = plan.find(path.name);
      REQUIRE(failing >= 0);
      if (!can_run(plan, failing)) continue;
      INFO(plan.flow().name << ": " << path.name << " fails\n" << path.mermaid);
      const auto drawn = read_run(path.mermaid);
      const auto ran = run_on_engine(plan, failing);
      CHECK(ran.commands == drawn.commands);
      CHECK(ran.compensations == drawn.compensations);
      ++checked;
    }
  }
  // Most of the nine flows' failure paths are covered (the rest need a parallel's timing or a
  // wait that takes several events).
  CHECK(checked >= 25);
}
