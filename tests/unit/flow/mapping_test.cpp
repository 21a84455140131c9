// Mappings (JSON templates with paths) and retry backoff.
#include <doctest/doctest.h>

#include "sagaflow/flow/expression.hpp"
#include "sagaflow/flow/flow.hpp"

namespace flow = sagaflow::flow;
namespace json = boost::json;
using std::chrono::milliseconds;

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

TEST_CASE("retry backoff grows by the multiplier and is capped") {
  flow::RetryPolicy policy;
  policy.max_attempts = 10;
  policy.initial_delay = milliseconds(100);
  policy.multiplier = 2.0;
  policy.max_delay = milliseconds(1000);
  CHECK(policy.delay_before(1) == milliseconds(0));
  CHECK(policy.delay_before(2) == milliseconds(100));
  CHECK(policy.delay_before(3) == milliseconds(200));
  CHECK(policy.delay_before(4) == milliseconds(400));
  CHECK(policy.delay_before(5) == milliseconds(800));
  CHECK(policy.delay_before(6) == milliseconds(1000));
  CHECK(policy.delay_before(4'000'000'000U) == milliseconds(1000));  // saturates, no overflow
  policy.multiplier = 1.0;
  CHECK(policy.delay_before(9) == milliseconds(100));
}

TEST_CASE("non-retryable error codes are not retried") {
  flow::RetryPolicy policy;
  policy.non_retryable = {"OfferUnavailable", "CodeAlreadySold"};
  CHECK_FALSE(policy.retryable("CodeAlreadySold"));
  CHECK(policy.retryable("Timeout"));
  CHECK(policy.retryable(""));
}
