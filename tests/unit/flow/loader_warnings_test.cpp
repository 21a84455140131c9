// The lint's warnings (docs/flow-tooling.md): each file of tests/data/flows/warnings yields
// exactly the warnings its `# warn:` lines expect (clean.yaml none), a step's allow_warnings
// accepts them, and the flows of definitions/ have none.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

namespace {

struct ExpectedWarning {
  int line = 0;
  int column = 0;
  std::string code;
  std::string message;  // a substring of the warning's message
};

// `# warn: LINE:COL: code: message` lines at the top of a file.
std::vector<ExpectedWarning> expected_warnings(const std::filesystem::path& file) {
  static const std::regex pattern(R"(^# warn: (\d+):(\d+): ([a-z_]+): (.+)$)");
  std::vector<ExpectedWarning> result;
  std::ifstream in(file);
  std::smatch match;
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, match, pattern)) {
      result.push_back({std::stoi(match[1]), std::stoi(match[2]), match[3], match[4]});
    }
  }
  return result;
}

std::string all_warnings(const flow::LoadResult& result) {
  std::string text;
  for (const auto& warning : result.warnings) text += warning.to_string() + "\n";
  return text;
}

std::vector<std::string> codes_of(const flow::LoadResult& result) {
  std::vector<std::string> codes;
  for (const auto& warning : result.warnings) codes.push_back(warning.code);
  return codes;
}

}  // namespace

TEST_CASE("each warnings file yields exactly its expected warnings, with a fix") {
  const auto files = flow_test::yaml_files(flow_test::flows_dir() / "warnings");
  REQUIRE(files.size() >= 8);
  std::set<std::string> codes_seen;
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto result = flow::load_flow_file(file);
    INFO(flow_test::all_diagnostics(result) << all_warnings(result));
    REQUIRE(result.ok());
    const auto expected = expected_warnings(file);
    CHECK(result.warnings.size() == expected.size());
    for (std::size_t i = 0; i < expected.size() && i < result.warnings.size(); ++i) {
      const auto& w = result.warnings[i];
      CHECK(w.severity == flow::Severity::warning);
      CHECK(w.line == expected[i].line);
      CHECK(w.column == expected[i].column);
      CHECK(w.code == expected[i].code);
      CHECK(w.message.find(expected[i].message) != std::string::npos);
      CHECK_FALSE(w.fix.empty());
      codes_seen.insert(w.code);
    }
    if (file.filename() == "clean.yaml") CHECK(result.warnings.empty());
  }
  CHECK(codes_seen == std::set<std::string>{
                          "irreversible_before_failure", "compensation_reads_null", "unread_output",
                          "when_never_holds", "duplicate_compensation", "service_near_miss"});
}

TEST_CASE("the flows of definitions/ load without warnings") {
  const auto files =
      flow_test::yaml_files(std::filesystem::path(SAGAFLOW_SOURCE_DIR) / "definitions");
  REQUIRE(files.size() == 9);
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const auto result = flow::load_flow_file(file);
    INFO(flow_test::all_diagnostics(result) << all_warnings(result));
    CHECK(result.ok());
    CHECK(result.warnings.empty());
  }
}

TEST_CASE("a warning prints as file:line:col: warning: message [code] and its fix") {
  flow::Diagnostic warning{"a.yaml",        3,          7, "bad", flow::Severity::warning,
                           "unread_output", "remove it"};
  CHECK(warning.to_string() == "a.yaml:3:7: warning: bad [unread_output]\n  fix: remove it");
}

TEST_CASE("allow_warnings accepts a warning at its step, and an unknown code is an error") {
  const std::string steps =
      "  - name: create\n"
      "    command: { service: orders, name: create }\n"
      "    output: { id: $reply.id }\n"
      "    compensation: { service: orders, name: reject, input: { reference: $saga.id } }\n";
  const auto warned = flow::load_flow_text("name: f\nversion: 1\nsteps:\n" + steps, "f.yaml");
  REQUIRE(warned.ok());
  CHECK(codes_of(warned) == std::vector<std::string>{"unread_output"});
  CHECK(warned.warnings[0].line == 6);
  CHECK(warned.warnings[0].column == 15);

  const auto allowed = flow::load_flow_text(
      "name: f\nversion: 1\nsteps:\n" + steps + "    allow_warnings: [unread_output]\n", "f.yaml");
  REQUIRE(allowed.ok());
  CHECK(allowed.warnings.empty());

  const auto misspelt = flow::load_flow_text(
      "name: f\nversion: 1\nsteps:\n" + steps + "    allow_warnings: [unread_outputs]\n", "f.yaml");
  REQUIRE(misspelt.diagnostics.size() == 1);
  CHECK(misspelt.diagnostics[0].message ==
        "unknown warning 'unread_outputs' in 'allow_warnings'; did you mean 'unread_output'?");
  CHECK(misspelt.diagnostics[0].line == 8);
  CHECK(misspelt.diagnostics[0].column == 22);
}

TEST_CASE("a flow with errors gets no warnings") {
  const auto result = flow::load_flow_text(
      "name: f\nversion: 1\nsteps:\n"
      "  - name: create\n"
      "    command: { service: orders, name: create }\n"
      "    output: { id: $reply.id }\n"
      "    timeout: soon\n"
      "    compensation: { service: orders, name: reject }\n",
      "f.yaml");
  CHECK_FALSE(result.ok());
  CHECK(result.warnings.empty());
}

TEST_CASE("when_never_holds: conditions some value meets are not warned") {
  auto codes = [](const std::string& when) {
    const auto result = flow::load_flow_text(
        "name: f\nversion: 1\ninput: { n: integer, s: { type: string, required: false } }\n"
        "steps:\n  - name: p\n    when: \"" +
            when + "\"\n    publish: { event: e }\n",
        "f.yaml");
    REQUIRE(result.ok());
    return codes_of(result);
  };
  const std::vector<std::string> none;
  const std::vector<std::string> never{"when_never_holds"};
  CHECK(codes("$input.n >= 2 && $input.n <= 2") == none);
  CHECK(codes("$input.n > 2 && $input.n < 3") == never);  // no integer between
  CHECK(codes("$input.s == 'a' || $input.s == null") == none);
  CHECK(codes("$input.s == 'a' && $input.s == 'b'") == never);
  CHECK(codes("$input.s != null && !$input.s") == none);  // the empty string
  CHECK(codes("$input.n == null") == never);              // required
  CHECK(codes("$input.other == 1") == never);             // not in the contract
  CHECK(codes("true") == none);
  CHECK(codes("1 == 2") == never);
}
