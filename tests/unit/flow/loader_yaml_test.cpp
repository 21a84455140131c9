// What the loader takes from YAML and what it refuses there: positions in characters, empty
// documents, aliases within the limits, printable messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

namespace {

std::string flow_with(const std::string& steps) {
  return "name: f\nversion: 1\nsteps:\n" + steps;
}

// The only diagnostic of loading `text`.
flow::Diagnostic only_diagnostic(const std::string& text) {
  const auto result = flow::load_flow_text(text, "f.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.flow == nullptr);
  return result.diagnostics[0];
}

// `count` steps: a publish step is 7 YAML nodes, a command step with a compensation 15.
std::string many_steps(int count, bool with_compensation) {
  std::string steps;
  for (int i = 0; i < count; ++i) {
    steps += "  - name: s" + std::to_string(i) + "\n";
    steps += with_compensation ? "    command: { service: s, name: c }\n"
                                 "    compensation: { service: s, name: undo }\n"
                               : "    publish: { event: x.y }\n";
  }
  return flow_with(steps);
}

}  // namespace

TEST_CASE("columns count characters, not bytes") {
  const auto d = only_diagnostic(
      flow_with("  - name: a\n    publish: { event: x.y, payload: { note: 'héllo', p: $input..x } "
                "}\n"));
  CHECK(d.line == 5);
  CHECK(d.column == 64);  // the second '.', after the two-byte 'é'
  CHECK(d.message.find("empty path segment") != std::string::npos);
}

TEST_CASE("an empty document is named as such, with its position") {
  const auto null_root = only_diagnostic("~\n");
  CHECK(null_root.line == 1);
  CHECK(null_root.message.find("the YAML document is empty") != std::string::npos);

  const auto only_marker = only_diagnostic("# nothing yet\n---\n");
  CHECK(only_marker.line > 0);
  CHECK(only_marker.message.find("the YAML document is empty") != std::string::npos);

  const auto nothing = only_diagnostic("");
  CHECK(nothing.line == 0);
  CHECK(nothing.message.find("the file is empty") != std::string::npos);
}

TEST_CASE("a first empty document followed by the flow points at the second") {
  const auto d = only_diagnostic("---\n---\n" + many_steps(1, false));
  CHECK(d.line == 3);
  CHECK(d.column == 1);
  CHECK(d.message.find("the first is empty and another starts here") != std::string::npos);
}

TEST_CASE("9,000 steps load when they fit the node limit, and are refused at a line when not") {
  const auto fits = flow::load_flow_text(many_steps(9'000, false), "f.yaml");
  INFO(flow_test::all_diagnostics(fits));
  REQUIRE(fits.ok());
  CHECK(fits.flow->steps.size() == 9'000);

  const auto d = only_diagnostic(many_steps(9'000, true));
  CHECK(d.line == 20'003);  // the 100,001st node: the `command` key of step s6666
  CHECK(d.column == 5);
  CHECK(d.message.find("more than 100000 YAML nodes") != std::string::npos);
  CHECK(d.message.find("alias") == std::string::npos);  // there is none to blame
}

TEST_CASE("an alias counts the depth of what it repeats") {
  flow::LoadLimits limits;
  limits.max_depth = 10;
  // The anchored list is 5 levels deep inside the payload, 10 in all: at the limit.
  const std::string steps =
      "  - name: a\n    publish: { event: x.y, payload: { deep: &deep [[[[[x]]]]] } }\n"
      "  - name: b\n    publish: { event: x.y, payload: { again: [*deep] } }\n";
  const auto result = flow::load_flow_text(flow_with(steps), "f.yaml", limits);
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].line == 7);
  CHECK(result.diagnostics[0].column == 47);  // the alias, one level deeper than its anchor
  CHECK(result.diagnostics[0].message.find("nesting deeper than 10 levels through alias '*deep'") !=
        std::string::npos);
}

TEST_CASE("aliases to scalars and maps read as the anchored node") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: a
    command: { service: &service points, name: reserve }
    compensation: { service: *service, name: release }
)"),
                                           "f.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.ok());
  CHECK(result.flow->steps[0].compensation->variants[0].command.service == "points");
}

TEST_CASE("messages quote the file's text with control characters escaped") {
  const auto result = flow::load_flow_text(
      "name: \"a\\nb\\e[2K\"\nversion: 1\nsteps:\n  - name: a\n    publish: { event: x.y }\n",
      "f.yaml");
  REQUIRE(result.diagnostics.size() == 1);
  const std::string& message = result.diagnostics[0].message;
  CHECK(message.find("found 'a\\nb\\x1b[2K'") != std::string::npos);
  CHECK(std::none_of(message.begin(), message.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
}

TEST_CASE("explicit tags are named as written, quoted and plain keys are the same key") {
  const auto result = flow::load_flow_text(
      "name: f\nversion: !!int 1\n\"name\": g\nsteps:\n  - name: a\n    publish: { event: x.y }\n",
      "f.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(result.diagnostics[0].line == 2);
  CHECK(result.diagnostics[0].message.find("YAML tag '!!int' is not supported") !=
        std::string::npos);
  CHECK(result.diagnostics[1].line == 3);
  CHECK(result.diagnostics[1].message.find("duplicate key 'name'") != std::string::npos);
}

TEST_CASE("a tab in the indentation is named at the tab, after spaces too") {
  const auto diagnostic = only_diagnostic("name: f\nversion: 1\nsteps:\n  \t- name: a\n");
  CHECK(diagnostic.line == 4);
  CHECK(diagnostic.column == 3);
  CHECK(diagnostic.message ==
        "YAML syntax: a tab indents this line; YAML indents with spaces only");
}

TEST_CASE("a line indented off its block is named with both columns") {
  const auto diagnostic =
      only_diagnostic(flow_with("  - name: a\n    publish:\n      event: x\n     payload: {}\n"));
  CHECK(diagnostic.line == 7);
  CHECK(diagnostic.column == 6);
  CHECK(diagnostic.message ==
        "YAML syntax: did not find expected key while parsing a block mapping that starts at "
        "4:5; check the indentation: this line starts at column 6, the block at column 5");
}

TEST_CASE("a key indented deeper than the line before it is named as a continued value") {
  const auto diagnostic = only_diagnostic(flow_with("  - name: a\n     publish: { event: x.y }\n"));
  CHECK(diagnostic.line == 5);
  CHECK(diagnostic.column == 13);
  CHECK(diagnostic.message ==
        "YAML syntax: mapping values are not allowed in this context; check the indentation: "
        "this key is indented deeper than the line before it, so it reads as more of that "
        "line's value");
}

TEST_CASE("a colon inside a value on one line is not blamed on the indentation") {
  const auto diagnostic = only_diagnostic(flow_with("  - name: a: b\n"));
  CHECK(diagnostic.message == "YAML syntax: mapping values are not allowed in this context");
}
