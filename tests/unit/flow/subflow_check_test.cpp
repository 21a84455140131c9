// The subflow step in the loader, and the deploy-time check of sub-flows between flows: unknown
// child flows and cycles are refused at the step's `flow:` value.
#include <doctest/doctest.h>

#include <map>

#include "sagaflow/flow/loader.hpp"
#include "sagaflow/flow/subflows.hpp"

using namespace sagaflow::flow;

namespace {

std::shared_ptr<const Flow> load(std::string_view text, const std::string& file = "f.yaml") {
  auto r = load_flow_text(text, file);
  for (const auto& d : r.diagnostics) MESSAGE(d.to_string());
  REQUIRE(r.ok());
  return r.flow;
}

struct Known {
  std::map<std::string, std::shared_ptr<const Flow>, std::less<>> flows;
  void add(std::shared_ptr<const Flow> f) { flows[f->name] = std::move(f); }
  FindFlow find() const {
    return [this](std::string_view name) -> const Flow* {
      auto it = flows.find(name);
      return it == flows.end() ? nullptr : it->second.get();
    };
  }
};

constexpr std::string_view kLeaf = R"(name: leaf
version: 1
steps:
  - name: note
    publish: { event: noted }
)";

std::string starting(std::string_view name, std::string_view child) {
  return "name: " + std::string(name) +
         "\nversion: 1\nsteps:\n  - name: call\n    subflow:\n      flow: " + std::string(child) +
         "\n      input: { x: 1 }\n";
}

}  // namespace

TEST_CASE("a subflow step is read with its flow, input and output") {
  auto f = load(R"(name: parent
version: 1
steps:
  - name: call
    subflow:
      flow: leaf
      input: { x: $input.x }
    output:
      noted: $reply.note
)");
  const auto& step = f->steps.at(0);
  CHECK(step.kind == StepKind::subflow);
  CHECK(step.subflow == "leaf");
  CHECK(step.subflow_pos.line == 6);
  CHECK(step.subflow_pos.column == 13);
  CHECK(step.output.has_value());
}

TEST_CASE("a subflow step refuses retry, timeout and compensation") {
  auto r = load_flow_text(R"(name: parent
version: 1
steps:
  - name: call
    subflow: { flow: leaf }
    retry: { max_attempts: 3 }
    compensation: { service: a, name: b, input: {} }
)",
                          "p.yaml");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 2);
  CHECK(r.diagnostics[0].to_string() ==
        "p.yaml:6:5: error: 'retry' does not apply to a subflow step: the child saga has its own "
        "retries, timeout and compensations");
  CHECK(r.diagnostics[1].line == 7);
}

TEST_CASE("deploying a flow whose child flow is unknown is refused at the flow's name") {
  Known known;
  auto parent = load(starting("parent", "missing"), "parent.yaml");
  auto problems = check_subflows(*parent, known.find());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].to_string() ==
        "parent.yaml:6:13: error: subflow step 'call' starts flow 'missing', which is not "
        "deployed; deploy it first");
  known.add(load(kLeaf));
  auto ok = load(starting("parent", "leaf"), "parent.yaml");
  CHECK(check_subflows(*ok, known.find()).empty());
}

TEST_CASE("cycles between flows are refused, a flow starting itself too") {
  Known known;
  auto self = load(starting("loop", "loop"), "loop.yaml");
  auto problems = check_subflows(*self, known.find());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("itself") != std::string::npos);

  // a -> b is deployed; b -> c -> a would close a cycle: c is refused, naming the chain.
  known.add(load(kLeaf));
  known.add(load(starting("b", "leaf")));
  known.add(load(starting("a", "b")));
  known.add(load(starting("c", "a")));
  auto b2 = load(starting("b", "c"), "b2.yaml");
  problems = check_subflows(*b2, known.find());
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].to_string() ==
        "b2.yaml:6:13: error: subflow step 'call' starts flow 'c', which starts 'b' again "
        "(b -> c -> a -> b): sub-flows must not form a cycle");
}
