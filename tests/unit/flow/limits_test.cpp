// What a flow file makes the engine compute stays bounded: durations, retry budgets,
// expressions, paths and mappings past their limits are refused at their line and column.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

namespace {

// Line 4 onwards: the steps.
std::string flow_with(const std::string& steps) {
  return "name: f\nversion: 1\nsteps:\n" + steps;
}

// One step whose command may be shaped by `extra` (more keys at the step's level).
std::string command_step(const std::string& extra) {
  return flow_with("  - name: a\n    irreversible: true\n    command: { service: s, name: c }\n" +
                   extra);
}

// The one diagnostic of a text, as `line:col: message`.
std::string only_diagnostic(const std::string& text) {
  const auto result = flow::load_flow_text(text, "limits.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.flow == nullptr);
  const auto& d = result.diagnostics[0];
  return std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
}

void loads_clean(const std::string& text) {
  const auto result = flow::load_flow_text(text, "limits.yaml");
  INFO(flow_test::all_diagnostics(result));
  CHECK(result.ok());
}

}  // namespace

TEST_CASE("every duration spelling of 365d loads, one millisecond more is refused at its start") {
  for (const std::string at_limit : {"365d", "8760h", "525600m", "31536000s", "31536000000ms",
                                     "364d24h", "364d23h60m", "364d23h59m59s1000ms"}) {
    CAPTURE(at_limit);
    loads_clean(command_step("    timeout: " + at_limit + "\n"));
  }
  for (const std::string beyond :
       {"366d", "8761h", "31536000001ms", "364d24h1ms", "365d1ms", "9223372036854775807ms",
        "9223372036854775808ms", "99999999999999999999999999999999d", "106751991167301d"}) {
    CAPTURE(beyond);
    CHECK(only_diagnostic(command_step("    timeout: " + beyond + "\n")) ==
          "7:14: 'timeout': duration '" + beyond + "' is longer than the maximum of 365d");
  }
}

TEST_CASE("a retry budget of exactly 7d loads, one millisecond more is refused at the retry") {
  loads_clean(command_step(
      "    timeout: 3d12h\n    retry: { max_attempts: 2, initial_delay: 0ms, multiplier: 100 }\n"));
  CHECK(only_diagnostic(command_step("    timeout: 3d12h\n    retry: { max_attempts: 2, "
                                     "initial_delay: 1ms, max_delay: 1ms }\n")) ==
        "8:12: step 'a' may retry for up to 7d1ms (max_attempts x timeout + backoff), more than "
        "the 7d allowed");
  // The steepest valid policy: 1000 attempts, delays capped at 365d after the first ones.
  CHECK(only_diagnostic(command_step(
            "    timeout: 1ms\n    retry: { max_attempts: 1000, initial_delay: 365d, multiplier: "
            "100, max_delay: 365d }\n")) ==
        "8:12: step 'a' may retry for up to 364635d1s (max_attempts x timeout + backoff), more "
        "than the 7d allowed");
}

TEST_CASE("a multiplier past a double's range is refused as not a number") {
  CHECK(only_diagnostic(command_step("    retry: { max_attempts: 3, multiplier: 1e999 }\n")) ==
        "7:43: 'multiplier' must be a number, found '1e999'");
  CHECK(only_diagnostic(command_step("    retry: { max_attempts: 3, multiplier: .nan }\n")) ==
        "7:43: 'multiplier' must be a number, found '.nan'");
  CHECK(only_diagnostic(command_step("    retry: { max_attempts: 3, multiplier: 100.0001 }\n")) ==
        "7:43: 'multiplier' must be between 1 (constant delay) and 100");
}

// `$input.a == 1 && ... && $input.b != 'xx...x'`, exactly `length` characters.
std::string condition_of_length(std::size_t length) {
  std::string condition = "$input.a == 1";
  while (condition.size() + 40 < length) condition += " && $input.a == 1";
  condition += " && $input.b != '";
  condition += std::string(length - condition.size() - 1, 'x') + "'";
  REQUIRE(condition.size() == length);
  return condition;
}

TEST_CASE("an expression over 4096 characters is refused at the first character past the limit") {
  auto step = [](const std::string& condition) {
    return flow_with("  - name: a\n    when: " + condition + "\n    publish: { event: e }\n");
  };
  loads_clean(step(condition_of_length(4096)));
  CHECK(only_diagnostic(step(condition_of_length(4097))) ==
        "5:4107: invalid expression in 'when': expression longer than 4096 characters");
  // A megabyte-long condition costs no more.
  CHECK(only_diagnostic(step(condition_of_length(1'000'000))) ==
        "5:4107: invalid expression in 'when': expression longer than 4096 characters");
}

TEST_CASE("expressions nest 32 levels, the 33rd '(' or '!' is refused at its column") {
  auto step = [](const std::string& condition) {
    return flow_with("  - name: a\n    when: \"" + condition + "\"\n    publish: { event: e }\n");
  };
  auto nested = [](int levels) {
    std::string text;
    for (int i = 0; i < levels; ++i) text += i % 2 == 0 ? "!" : "(";
    text += "$input.a";
    for (int i = 1; i < levels; i += 2) text += ")";
    return text;
  };
  loads_clean(step(nested(32)));
  CHECK(only_diagnostic(step(nested(33))) ==
        "5:44: invalid expression in 'when': expression nested deeper than 32 levels of "
        "parentheses and '!'");
  CHECK(only_diagnostic(step(nested(2000))) ==
        "5:44: invalid expression in 'when': expression nested deeper than 32 levels of "
        "parentheses and '!'");
}

TEST_CASE("paths have at most 32 segments, in expressions, mappings and path keys") {
  std::string path = "$input";
  for (int i = 0; i < 32; ++i) path += ".a";
  const std::string too_long = path + ".b";
  loads_clean(flow_with("  - name: a\n    when: " + path +
                        " == 1\n    publish: { event: e, "
                        "payload: { x: " +
                        path + " } }\n"));
  // The dot before the 33rd segment is 70 characters into the path.
  CHECK(only_diagnostic(flow_with("  - name: a\n    when: " + too_long +
                                  " == 1\n    publish: { event: e }\n")) ==
        "5:81: invalid expression in 'when': path longer than 32 segments");
  CHECK(only_diagnostic(flow_with(
            "  - name: a\n    publish: { event: e, payload: { x: " + too_long + " } }\n")) ==
        "5:110: invalid path '" + too_long + "': path longer than 32 segments");
  CHECK(only_diagnostic(flow_with("  - name: a\n    foreach:\n      items: " + too_long +
                                  "\n      command: { service: s, name: c }\n"
                                  "    irreversible: true\n")) ==
        "6:84: invalid path in 'items': path longer than 32 segments");
}

// A payload nested `levels` deep in block style, one level per line from line 7.
std::string nested_payload(int levels) {
  std::string text = flow_with("  - name: a\n    publish:\n      event: e\n      payload:\n");
  std::string indent = "        ";
  for (int level = 1; level < levels; ++level) {
    text += indent + "k" + std::to_string(level) + ":\n";
    indent += "  ";
  }
  return text + indent + "leaf: 1\n";
}

TEST_CASE("a mapping nests 16 levels of maps and lists, the 17th is refused where it begins") {
  loads_clean(nested_payload(16));
  // Level 1 (the payload's own map) begins at 8:9, each level a line lower and two columns in.
  CHECK(only_diagnostic(nested_payload(17)) ==
        "24:41: mapping nested deeper than 16 levels of maps and lists");
  CHECK(only_diagnostic(nested_payload(40)) ==
        "24:41: mapping nested deeper than 16 levels of maps and lists");
  // Lists count as levels too.
  CHECK(only_diagnostic(flow_with("  - name: a\n    publish: { event: e, payload: " +
                                  std::string(17, '[') + "1" + std::string(17, ']') + " }\n")) ==
        "5:51: mapping nested deeper than 16 levels of maps and lists");
}

TEST_CASE("a mapping holds 10,000 values, a bigger one is refused at its smallest part over") {
  auto list_of = [](int elements) {
    std::string list = "[";
    for (int i = 0; i < elements; ++i) list += i == 0 ? "1" : ",1";
    return list + "]";
  };
  auto step = [](const std::string& input) {
    return flow_with(
        "  - name: a\n    irreversible: true\n    command: { service: s, name: c, "
        "input: " +
        input + " }\n");
  };
  loads_clean(step(list_of(9'999)));  // the list and its elements: 10,000 values
  CHECK(only_diagnostic(step(list_of(10'000))) == "6:44: mapping with more than 10000 values");
  // Two lists under the limit, together over it: the map that holds them is refused.
  CHECK(only_diagnostic(step("{ x: " + list_of(6'000) + ", y: " + list_of(6'000) + " }")) ==
        "6:44: mapping with more than 10000 values");
  // Aliases count every time they are used.
  CHECK(only_diagnostic(flow_with("  - name: a\n    irreversible: true\n    command:\n"
                                  "      service: s\n      name: c\n      input:\n"
                                  "        x: &big " +
                                  list_of(4'000) +
                                  "\n        y: *big\n"
                                  "        z: *big\n")) ==
        "10:9: mapping with more than 10000 values");
}
