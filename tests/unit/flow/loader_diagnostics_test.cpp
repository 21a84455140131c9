// Verification: each broken file yields exactly its expected diagnostics; hostile input is
// refused fast; every valid data file loads clean.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

namespace {

struct Expectation {
  int line = 0;
  int column = 0;
  std::string message;  // a substring of the diagnostic's message
};

// `# expect: LINE:COL: message` lines at the top of a broken file.
std::vector<Expectation> expectations(const std::filesystem::path& file) {
  static const std::regex pattern(R"(^# expect: (\d+):(\d+): (.+)$)");
  std::vector<Expectation> result;
  std::ifstream in(file);
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, match, pattern)) {
      result.push_back({std::stoi(match[1]), std::stoi(match[2]), match[3]});
    }
  }
  return result;
}

bool matches(const flow::Diagnostic& diagnostic, const Expectation& expected) {
  return diagnostic.line == expected.line && diagnostic.column == expected.column &&
         diagnostic.message.find(expected.message) != std::string::npos;
}

// A minimal valid flow around one step, for focused checks.
std::string flow_with(const std::string& steps) {
  return "name: f\nversion: 1\nsteps:\n" + steps;
}

double seconds_to_load(const std::string& text, flow::LoadResult& result) {
  const auto start = std::chrono::steady_clock::now();
  result = flow::load_flow_text(text, "hostile.yaml");
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("every broken file yields exactly its expected positions and messages") {
  const auto files = flow_test::yaml_files(flow_test::flows_dir() / "broken");
  REQUIRE(files.size() >= 20);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto expected = expectations(file);
    REQUIRE_FALSE(expected.empty());
    const auto result = flow::load_flow_file(file);
    INFO(flow_test::all_diagnostics(result));
    CHECK_FALSE(result.ok());
    CHECK(result.flow == nullptr);
    CHECK(result.diagnostics.size() == expected.size());
    for (const auto& expectation : expected) {
      CAPTURE(expectation.line);
      CAPTURE(expectation.column);
      CAPTURE(expectation.message);
      const bool found = std::any_of(result.diagnostics.begin(), result.diagnostics.end(),
                                     [&](const auto& d) { return matches(d, expectation); });
      CHECK(found);
    }
  }
}

TEST_CASE("every valid flow in tests/data/flows loads without a diagnostic") {
  const auto files = flow_test::yaml_files(flow_test::flows_dir());
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto result = flow::load_flow_file(file);
    INFO(flow_test::all_diagnostics(result));
    CHECK(result.ok());
    CHECK(result.diagnostics.empty());
  }
}

TEST_CASE("Diagnostic::to_string is file:line:col: error: message, or file: error: message") {
  CHECK(flow::Diagnostic{"a.yaml", 3, 7, "bad"}.to_string() == "a.yaml:3:7: error: bad");
  CHECK(flow::Diagnostic{"a.yaml", 0, 0, "empty"}.to_string() == "a.yaml: error: empty");
}

TEST_CASE("load_flow_file reports unreadable paths as diagnostics") {
  const auto missing = flow::load_flow_file(flow_test::flows_dir() / "no_such_file.yaml");
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].line == 0);
  CHECK(missing.diagnostics[0].message.find("cannot read") != std::string::npos);
  CHECK(missing.flow == nullptr);
  const auto directory = flow::load_flow_file(flow_test::flows_dir());
  REQUIRE(directory.diagnostics.size() == 1);
  CHECK(directory.diagnostics[0].message.find("not a regular file") != std::string::npos);
}

TEST_CASE("an oversized file is refused before it is parsed") {
  flow::LoadLimits limits;
  limits.max_bytes = 64;
  const std::string text = flow_with("  - name: a\n    publish: { event: x.y }\n") + "# padding\n";
  REQUIRE(text.size() > 64);
  const auto result = flow::load_flow_text(text, "big.yaml", limits);
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].line == 0);
  CHECK(result.diagnostics[0].message.find("more than the 64") != std::string::npos);

  const auto from_file =
      flow::load_flow_file(flow_test::flows_dir() / "every_construct.yaml", limits);
  REQUIRE(from_file.diagnostics.size() == 1);
  CHECK(from_file.diagnostics[0].message.find("more than the 64") != std::string::npos);

  // The default limit (1 MiB): a 2 MiB comment is refused without being parsed.
  const std::string huge = flow_with("  - name: a\n    publish: { event: x.y }\n") + "#" +
                           std::string(2 << 20, 'x') + "\n";
  flow::LoadResult refused;
  CHECK(seconds_to_load(huge, refused) < 0.5);
  REQUIRE(refused.diagnostics.size() == 1);
  CHECK(refused.diagnostics[0].message.find("bytes, more than") != std::string::npos);
}

TEST_CASE("billion laughs: alias expansion is cut off quickly") {
  std::ostringstream text;
  text << "name: lol\nversion: 1\nsteps:\n  - name: a\n    irreversible: true\n"
          "    command:\n      service: s\n      name: c\n      input:\n";
  text << "        l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level < 10; ++level) {
    text << "        l" << level << ": &l" << level << " [";
    for (int i = 0; i < 10; ++i) text << (i ? ", " : "") << "*l" << level - 1;
    text << "]\n";
  }
  REQUIRE(text.str().size() < 1500);
  flow::LoadResult result;
  CHECK(seconds_to_load(text.str(), result) < 0.5);
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].message.find("more than 100000 YAML nodes") != std::string::npos);
  CHECK(result.flow == nullptr);
}

TEST_CASE("a few aliases within the limits are fine") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: a
    command: { service: s, name: c }
    retry: &retry { max_attempts: 3 }
    compensation: { service: s, name: undo, retry: *retry }
)"),
                                           "alias.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.ok());
  CHECK(result.flow->steps[0].compensation->retry.max_attempts == 3);
}

TEST_CASE("deep nesting is refused at the level that exceeds the limit") {
  // Block style: each level one line deeper, so the offending line is known.
  std::string nested =
      "name: deep\nversion: 1\nsteps:\n  - name: a\n    publish:\n"
      "      event: x.y\n      payload:\n";
  std::string indent = "        ";
  for (int level = 0; level < 100; ++level) {
    nested += indent + "k:\n";
    indent += "  ";
  }
  nested += indent + "leaf\n";
  flow::LoadResult result;
  CHECK(seconds_to_load(nested, result) < 0.5);
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].message.find("nesting deeper than 64 levels") != std::string::npos);
  // Level 1 is the root map, 3 the steps list... the 65th level is a map under `payload`.
  CHECK(result.diagnostics[0].line > 8);

  // Flow style 100,000 levels deep is refused at the 65th, long before the end of the text.
  const std::string brackets = "name: x\nversion: 1\nsteps: " + std::string(100'000, '[');
  flow::LoadResult deep;
  CHECK(seconds_to_load(brackets, deep) < 1.0);
  REQUIRE(deep.diagnostics.size() == 1);
  CHECK(deep.diagnostics[0].message.find("nesting deeper than 64 levels") != std::string::npos);
  CHECK_FALSE(deep.ok());
}

TEST_CASE("a custom depth limit applies") {
  flow::LoadLimits limits;
  limits.max_depth = 3;
  const auto result = flow::load_flow_text(flow_with("  - name: a\n    publish: { event: x.y }\n"),
                                           "shallow.yaml", limits);
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].line == 5);  // the publish map, the 4th level
  CHECK(result.diagnostics[0].column == 14);
}

TEST_CASE("steps after a parallel see its inner steps, a step sees itself where allowed") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: first
    publish: { event: f.done }
  - name: both
    parallel:
      - - name: left
          publish: { event: l.done, payload: { f: $steps.first } }
        - name: nested
          parallel:
            - - name: deep_a
                publish: { event: a.done, payload: { l: $steps.left } }
            - - name: deep_each
                foreach:
                  items: $input.lines
                  command: { service: s, name: c, input: { line: $item, f: $steps.first } }
                irreversible: true
      - - name: right
          command: { service: s, name: c }
          output: { prev: $steps.right.x, id: $reply.id }
          compensation: { service: s, name: undo, input: { id: $steps.right.id } }
  - name: after
    publish:
      event: x.y
      payload: { l: $steps.left, r: $steps.right.id, b: $steps.both, d: $steps.deep_each.0 }
)"),
                                           "order.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.ok());
  const auto& both = result.flow->steps[1];
  REQUIRE(both.branches.size() == 2);
  const auto& nested = both.branches[0][1];
  CHECK(nested.kind == flow::StepKind::parallel);
  REQUIRE(nested.branches.size() == 2);
  CHECK(nested.branches[1][0].kind == flow::StepKind::foreach);
}

TEST_CASE("a compensation may read later steps (they may have run), but not unknown ones") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: hold
    command: { service: certificates, name: authorize_hold }
    compensation:
      - when: $steps.capture.status == 'captured'
        service: certificates
        name: void
        input: { authorization: $steps.hold.id, capture: $steps.capture.id }
      - service: certificates
        name: release
        input: { authorization: $steps.hold.id, other: $steps.nowhere.id }
  - name: capture
    irreversible: true
    command: { service: certificates, name: capture, input: { later: $steps.confirm.id } }
  - name: confirm
    irreversible: true
    command: { service: orders, name: confirm }
)"),
                                           "redemption.yaml");
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(result.diagnostics[0].line == 13);
  CHECK(result.diagnostics[0].message.find("unknown step 'nowhere'") != std::string::npos);
  CHECK(result.diagnostics[1].line == 16);
  CHECK(result.diagnostics[1].message.find("reads step 'confirm', which has not finished") !=
        std::string::npos);
}

TEST_CASE("inside nested parallels, sibling branches still cannot read each other") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: outer
    parallel:
      - - name: inner
          parallel:
            - - name: a
                publish: { event: a.done }
            - - name: b
                publish: { event: b.done, payload: { a: $steps.a } }
      - - name: c
          publish: { event: c.done, payload: { b: $steps.b, outer: $steps.outer } }
)"),
                                           "siblings.yaml");
  REQUIRE(result.diagnostics.size() == 3);
  CHECK(result.diagnostics[0].line == 11);
  CHECK(result.diagnostics[0].column == 57);
  CHECK(result.diagnostics[0].message.find("reads step 'a'") != std::string::npos);
  CHECK(result.diagnostics[1].line == 13);
  CHECK(result.diagnostics[1].message.find("reads step 'b'") != std::string::npos);
  CHECK(result.diagnostics[2].line == 13);
  CHECK(result.diagnostics[2].message.find("reads step 'outer'") != std::string::npos);
}

TEST_CASE("all problems are reported, not just the first, sorted by position") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: a
    publish: { event: x.y, payload: { p: $input..x } }
    pivot: maybe
  - name: a
    when: $steps.zz == 1 &&
    publish: { event: x.y }
)"),
                                           "many.yaml");
  REQUIRE(result.diagnostics.size() == 4);
  CHECK(result.diagnostics[0].line == 5);
  CHECK(result.diagnostics[0].column == 49);  // the second '.' of $input..x
  CHECK(result.diagnostics[1].line == 6);
  CHECK(result.diagnostics[1].message.find("'pivot' must be true or false") != std::string::npos);
  CHECK(result.diagnostics[2].line == 7);
  CHECK(result.diagnostics[2].column == 11);
  CHECK(result.diagnostics[2].message.find("duplicate step name 'a'") != std::string::npos);
  CHECK(result.diagnostics[3].line == 8);
  CHECK(result.diagnostics[3].column == 28);  // where the expression ends too early
}

TEST_CASE("YAML tags and non-string keys are refused") {
  const auto result = flow::load_flow_text(flow_with(R"(  - name: !!str a
    publish: { event: x.y, payload: { [1, 2]: x } }
)"),
                                           "tags.yaml");
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(result.diagnostics[0].message.find("YAML tag") != std::string::npos);
  CHECK(result.diagnostics[1].message.find("keys must be plain strings") != std::string::npos);
}
