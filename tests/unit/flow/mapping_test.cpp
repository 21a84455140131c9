// Mappings: JSON templates with paths, and their extent (depth and values).
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "sagaflow/flow/expression.hpp"

namespace flow = sagaflow::flow;
namespace json = boost::json;

TEST_CASE("a template renders paths, keeps literals and escapes $$") {
  const json::value input = json::parse(R"({"user": "ann", "lines": [{"id": 7}]})");
  json::object steps;
  steps["reserve"] = json::parse(R"({"id": "r-1"})");
  const json::value reply = json::parse(R"({"order_id": 99})");
  flow::Scope scope;
  scope.input = &input;
  scope.steps = &steps;
  scope.reply = &reply;

  const auto mapping = flow::Mapping::from_template(json::parse(R"({
    "user": "$input.user",
    "reservation": "$steps.reserve.id",
    "order": "$reply.order_id",
    "first_line": "$input.lines.0.id",
    "missing": "$input.nothing",
    "price": "$$5",
    "note": "costs $5",
    "count": 3, "flag": true, "none": null,
    "nested": {"ids": ["$steps.reserve.id", 1, "x"]}
  })"));
  CHECK(mapping.render(scope) == json::parse(R"({
    "user": "ann", "reservation": "r-1", "order": 99, "first_line": 7, "missing": null,
    "price": "$5", "note": "costs $5", "count": 3, "flag": true, "none": null,
    "nested": {"ids": ["r-1", 1, "x"]}
  })"));
  CHECK(mapping.paths().size() == 6);
  CHECK_FALSE(mapping.empty());
}

TEST_CASE("the builders make the same tree as a template") {
  const json::value input = json::parse(R"({"user": "ann"})");
  flow::Scope scope;
  scope.input = &input;
  const auto mapping = flow::Mapping::object(
      {{"who", flow::Mapping::path(flow::parse_path("$input.user"))},
       {"list", flow::Mapping::array({flow::Mapping::literal(1),
                                      flow::Mapping::path(flow::parse_path("$input.gone"))})},
       {"const", flow::Mapping::object({{"a", flow::Mapping::literal("b")}})}});
  CHECK(mapping.render(scope) ==
        json::parse(R"({"who": "ann", "list": [1, null], "const": {"a": "b"}})"));
  const auto paths = mapping.paths();
  REQUIRE(paths.size() == 2);
  CHECK(paths[0]->text == "$input.user");
  CHECK(paths[1]->text == "$input.gone");
}

TEST_CASE("a whole-value path, an empty mapping and a malformed template") {
  const json::value reply = json::parse(R"({"a": [1, 2]})");
  flow::Scope scope;
  scope.reply = &reply;
  CHECK(flow::Mapping::from_template("$reply").render(scope) == reply);
  CHECK(flow::Mapping::from_template("$reply.a.1").render(scope) == 2);
  const flow::Mapping empty;
  CHECK(empty.empty());
  CHECK(empty.render(scope) == json::object());
  CHECK(empty.paths().empty());
  CHECK_THROWS_AS(flow::Mapping::from_template(json::parse(R"({"x": ["$input..y"]})")),
                  flow::ParseError);
}

TEST_CASE("rendering is independent per call and copies share the template") {
  json::value input = json::parse(R"({"n": 1})");
  flow::Scope scope;
  scope.input = &input;
  const auto mapping = flow::Mapping::from_template(json::parse(R"({"n": "$input.n"})"));
  const flow::Mapping copy = mapping;
  CHECK(mapping.render(scope) == json::parse(R"({"n": 1})"));
  input.as_object()["n"] = 2;
  CHECK(copy.render(scope) == json::parse(R"({"n": 2})"));
}

TEST_CASE("values count every node of the template, folded into a literal or not") {
  CHECK(flow::Mapping().values() == 0);
  CHECK(flow::Mapping::literal(5).values() == 1);
  CHECK(flow::Mapping::path(flow::parse_path("$input.x")).values() == 1);
  const auto literal = flow::Mapping::from_template(json::parse(R"({"a": [1, {"b": 2}], "c": 3})"));
  const auto with_path =
      flow::Mapping::from_template(json::parse(R"({"a": [1, {"b": "$input.x"}], "c": 3})"));
  CHECK(literal.values() == 6);
  CHECK(with_path.values() == 6);
  // An empty child stands for null: one value.
  CHECK(flow::Mapping::array({flow::Mapping(), flow::Mapping()}).values() == 3);
}

TEST_CASE("the values of a literal built in code are counted without recursion") {
  // 10,000 levels deep, built from the inside out.
  json::value deep = json::array();
  for (int i = 0; i < 9'999; ++i) {
    json::array outer;
    outer.push_back(std::move(deep));
    deep = std::move(outer);
  }
  CHECK(flow::Mapping::literal(std::move(deep)).values() == 10'000);
}

TEST_CASE("shared subtrees count once per use, and the count saturates instead of wrapping") {
  auto mapping = flow::Mapping::from_template(json::parse(R"(["$input.x", 1])"));
  std::uint64_t expected = 3;
  for (int level = 0; level < 8; ++level) {
    std::vector<flow::Mapping> copies(1000, mapping);
    mapping = flow::Mapping::array(std::move(copies));
    expected = expected * 1000 + 1;
    if (level < 5) CHECK(mapping.values() == expected);
  }
  CHECK(mapping.values() == std::numeric_limits<std::size_t>::max());
}
