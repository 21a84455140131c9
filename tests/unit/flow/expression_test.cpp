// The condition language: parsing, precedence, every operator, literals, paths and errors.
#include <doctest/doctest.h>

#include <string>

#include "sagaflow/flow/expression.hpp"

namespace flow = sagaflow::flow;
namespace json = boost::json;

namespace {

// A scope with input, steps, event and item, shared by the evaluation tests.
struct Fixture {
  json::value input = json::parse(R"({
    "user": "ann", "amount": 150, "price": 150.0, "big": 18446744073709551615,
    "neg": -3, "coupon": null, "vip": true, "empty": "", "zero": 0,
    "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "0150"}
  })");
  json::object steps = json::parse(R"({"reserve": {"id": "r-1", "amount": 150,
                                       "lines": [{"id": 7}, {"id": 8}]}})")
                           .as_object();
  json::value event = json::parse(R"({"paymentVersion": 3, "settled": true})");
  json::value item = json::parse(R"({"orderLineId": "L1"})");
  json::value saga = json::parse(R"({"id": "saga-42"})");

  flow::Scope scope() const {
    flow::Scope s;
    s.input = &input;
    s.steps = &steps;
    s.event = &event;
    s.item = &item;
    s.saga = &saga;
    return s;
  }

  json::value eval(const std::string& text) const {
    return flow::parse_expression(text).evaluate(scope());
  }
  bool test(const std::string& text) const { return flow::parse_expression(text).test(scope()); }
};

std::size_t error_offset(const std::string& text) {
  try {
    (void)flow::parse_expression(text);
  } catch (const flow::ParseError& error) {
    return error.offset;
  }
  FAIL("expected a ParseError for: " << text);
  return 0;
}

std::string error_message(const std::string& text) {
  try {
    (void)flow::parse_expression(text);
  } catch (const flow::ParseError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("parse_path splits roots and segments") {
  const auto path = flow::parse_path("$steps.reserve.lines.0.id");
  CHECK(path.root == flow::PathRoot::steps);
  CHECK(path.segments == std::vector<std::string>{"reserve", "lines", "0", "id"});
  CHECK(path.text == "$steps.reserve.lines.0.id");
  CHECK(path.step_name() == "reserve");
  CHECK(flow::parse_path("$input.user").step_name().empty());
  CHECK(flow::parse_path("$reply").segments.empty());
  CHECK(flow::parse_path("$event.payment-id").segments.front() == "payment-id");
  CHECK(flow::parse_path("$item.x").root == flow::PathRoot::item);
  CHECK(flow::parse_path("$saga.id").root == flow::PathRoot::saga);
}

TEST_CASE("parse_path reports malformed paths with their offset") {
  auto offset_of = [](const char* text) -> std::size_t {
    try {
      (void)flow::parse_path(text);
    } catch (const flow::ParseError& error) {
      return error.offset;
    }
    return 999;
  };
  CHECK(offset_of("input.x") == 0);
  CHECK(offset_of("$order.id") == 1);
  CHECK(offset_of("$input..x") == 7);
  CHECK(offset_of("$input.x.") == 9);
  CHECK(offset_of("$input.a b") == 8);
  CHECK(offset_of("$steps") == 6);
}

TEST_CASE("paths resolve into objects and arrays, missing data is null") {
  const Fixture f;
  const auto scope = f.scope();
  CHECK(*flow::parse_path("$input.address.city").resolve(scope) == "Oslo");
  CHECK(*flow::parse_path("$steps.reserve.lines.1.id").resolve(scope) == 8);
  CHECK(*flow::parse_path("$input.tags.0").resolve(scope) == "a");
  CHECK(*flow::parse_path("$saga.id").resolve(scope) == "saga-42");
  CHECK(flow::parse_path("$input.tags.5").resolve(scope) == nullptr);
  CHECK(flow::parse_path("$input.tags.x").resolve(scope) == nullptr);
  CHECK(flow::parse_path("$input.user.length").resolve(scope) == nullptr);
  CHECK(flow::parse_path("$steps.unknown.id").resolve(scope) == nullptr);
  CHECK(flow::parse_path("$reply.id").resolve(scope) == nullptr);  // no reply in this scope
  CHECK(flow::parse_path("$input.address.zip").resolve(flow::Scope{}) == nullptr);
}

TEST_CASE("literals evaluate to their JSON values") {
  const Fixture f;
  CHECK(f.eval("null").is_null());
  CHECK(f.eval("true") == true);
  CHECK(f.eval("false") == false);
  CHECK(f.eval("42").as_int64() == 42);
  CHECK(f.eval("-7").as_int64() == -7);
  CHECK(f.eval("2.5").as_double() == doctest::Approx(2.5));
  CHECK(f.eval("1e3").as_double() == doctest::Approx(1000.0));
  CHECK(f.eval("18446744073709551615").as_uint64() == 18446744073709551615ULL);
  CHECK(f.eval("'single'") == "single");
  CHECK(f.eval("\"double\"") == "double");
  CHECK(f.eval(R"('it\'s')") == "it's");
  CHECK(f.eval(R"("a\\b")") == "a\\b");
  CHECK(f.eval("$input.address.city") == "Oslo");
  CHECK(f.eval("$input.nothing").is_null());
}

TEST_CASE("equality is deep and numeric across integer and double") {
  const Fixture f;
  CHECK(f.test("$input.amount == 150"));
  CHECK(f.test("$input.amount == 150.0"));
  CHECK(f.test("$input.price == 150"));
  CHECK(f.test("$input.amount == $input.price"));
  CHECK(f.test("$input.big == 18446744073709551615"));
  CHECK_FALSE(f.test("$input.big == -1"));
  CHECK(f.test("$steps.reserve.amount == $input.amount"));
  CHECK(f.test("$input.user == 'ann'"));
  CHECK(f.test("$input.user != 'bob'"));
  CHECK(f.test("$input.coupon == null"));
  CHECK(f.test("$input.missing == null"));
  CHECK_FALSE(f.test("$input.coupon != null"));
  CHECK(f.test("$input.vip == true"));
  CHECK_FALSE(f.test("$input.amount == '150'"));  // no string/number coercion
  CHECK_FALSE(f.test("$input.zero == false"));
  CHECK(f.test("$input.tags == $input.tags"));
  CHECK(f.test("$input.address == $input.address"));
  CHECK_FALSE(f.test("$input.tags == $input.address"));
}

TEST_CASE("ordering compares numbers numerically and strings lexicographically") {
  const Fixture f;
  CHECK(f.test("$input.amount > 100"));
  CHECK(f.test("$input.amount >= 150"));
  CHECK(f.test("$input.amount <= 150.0"));
  CHECK_FALSE(f.test("$input.amount < 150"));
  CHECK(f.test("$input.neg < 0"));
  CHECK(f.test("$input.neg < $input.big"));  // signed against unsigned
  CHECK_FALSE(f.test("$input.big < $input.neg"));
  CHECK(f.test("$input.price < 150.5"));
  CHECK(f.test("'apple' < 'banana'"));
  CHECK(f.test("$input.address.zip >= '0150'"));
  CHECK_FALSE(f.test("'b' <= 'a'"));
}

TEST_CASE("ordering between incompatible types is false both ways") {
  const Fixture f;
  CHECK_FALSE(f.test("$input.amount < 'z'"));
  CHECK_FALSE(f.test("$input.amount >= 'z'"));
  CHECK_FALSE(f.test("$input.missing < 1"));
  CHECK_FALSE(f.test("$input.missing >= 1"));
  CHECK_FALSE(f.test("null <= null"));
  CHECK_FALSE(f.test("true > false"));
  CHECK_FALSE(f.test("$input.tags > 0"));
}

TEST_CASE("&&, || and ! use truthiness and bind with the documented precedence") {
  const Fixture f;
  CHECK(f.test("$input.vip && $input.user"));
  CHECK_FALSE(f.test("$input.vip && $input.empty"));
  CHECK(f.test("$input.zero || $input.tags"));
  CHECK_FALSE(f.test("$input.zero || $input.coupon || $input.empty"));
  CHECK(f.test("!$input.coupon"));
  CHECK(f.test("!!$input.vip"));
  CHECK(f.test("!($input.amount > 200)"));
  // || is weaker than &&: true || (false && false)
  CHECK(f.test("true || false && false"));
  // && is weaker than comparisons: (1 == 1) && (2 == 2)
  CHECK(f.test("1 == 1 && 2 == 2"));
  // ! binds tighter than comparisons: (!false) == true
  CHECK(f.test("!false == true"));
  CHECK(f.test("!(false == true)"));
  // parentheses override: (true || false) && false
  CHECK_FALSE(f.test("(true || false) && false"));
  CHECK(f.eval("$input.vip && $input.user") == true);  // && yields a boolean
}

TEST_CASE("test() follows the truthiness rules, an empty expression is false") {
  const Fixture f;
  CHECK_FALSE(f.test("null"));
  CHECK_FALSE(f.test("0"));
  CHECK_FALSE(f.test("0.0"));
  CHECK_FALSE(f.test("''"));
  CHECK(f.test("'x'"));
  CHECK(f.test("$input.tags"));
  CHECK(f.test("$input.address"));
  CHECK(f.test("-1"));
  CHECK_FALSE(flow::Expression{}.test(f.scope()));
  CHECK(flow::Expression{}.evaluate(f.scope()).is_null());
}

TEST_CASE("expressions read every root and keep their text and paths") {
  const Fixture f;
  CHECK(f.test("$event.paymentVersion > 2 && $event.settled == true"));
  CHECK(f.test("$item.orderLineId == 'L1'"));
  CHECK(f.test("$saga.id == 'saga-42'"));
  const auto expression = flow::parse_expression("$input.a == $steps.b.c || !$event.d");
  CHECK(expression.text() == "$input.a == $steps.b.c || !$event.d");
  const auto paths = expression.paths();
  REQUIRE(paths.size() == 3);
  CHECK(paths[0]->text == "$input.a");
  CHECK(paths[1]->step_name() == "b");
  CHECK(paths[2]->root == flow::PathRoot::event);
}

TEST_CASE("copies share the parsed program and evaluate alike") {
  const Fixture f;
  flow::Expression original = flow::parse_expression("$input.amount > 100");
  const flow::Expression copy = original;
  flow::Expression moved = std::move(original);
  CHECK(copy.test(f.scope()));
  CHECK(moved.test(f.scope()));
  CHECK(copy.text() == moved.text());
}

TEST_CASE("long && chains do not nest") {
  const Fixture f;
  std::string text = "true";
  for (int i = 0; i < 250; ++i) text += " && $input.vip";  // far deeper than the nesting limit
  CHECK(f.test(text));
  CHECK_FALSE(f.test(text + " && false"));
}

TEST_CASE("malformed expressions throw ParseError at the offending offset") {
  CHECK(error_offset("") == 0);
  CHECK(error_offset("$input.x = 1") == 9);
  CHECK(error_offset("$input.x == 1 && ($input.y > 2") == 30);
  CHECK(error_offset("$input.x == 1 == true") == 14);
  CHECK(error_offset("$input.name == 'bob") == 15);
  CHECK(error_offset("$input.x && banana") == 12);
  CHECK(error_offset("$inptu.x > 1") == 1);
  CHECK(error_offset("$input.x >") == 10);
  CHECK(error_offset("$input.x & $input.y") == 9);
  CHECK(error_offset("$input.x | $input.y") == 9);
  CHECK(error_offset("$input.x ) ") == 9);
  CHECK(error_offset("1 2") == 2);
  CHECK(error_offset("1.2.3") == 3);
  CHECK(error_offset("1e+") == 3);
  CHECK(error_offset("$input.x + 1") == 9);
  CHECK(error_offset("$input..x == 1") == 7);
  CHECK(error_offset("(") == 1);
  CHECK(error_offset(std::string(40, '(') + "true" + std::string(40, ')')) == 32);
  CHECK(error_message("a == 1").find("unknown word 'a'") != std::string::npos);
  CHECK(error_message("$x.y").find("unknown path root '$x'") != std::string::npos);
  CHECK(error_message("1 == 2 == 3").find("cannot be chained") != std::string::npos);
}

TEST_CASE("an expression may be 4096 characters long, a longer one is refused where it overflows") {
  const Fixture f;
  std::string text = "$input.vip";
  while (text.size() + 14 <= 4096) text += " && $input.vip";
  text += std::string(4096 - text.size(), ' ');
  REQUIRE(text.size() == 4096);
  CHECK(f.test(text));
  CHECK(error_offset(text + "x") == 4096);
  CHECK(error_message(text + "x") == "expression longer than 4096 characters");
  // Refused before it is read: a megabyte of parentheses costs nothing.
  CHECK(error_offset(std::string(1 << 20, '(')) == 4096);
}

TEST_CASE("parentheses and '!' nest 32 levels, the 33rd is refused at its offset") {
  const Fixture f;
  auto nested = [](const std::string& open, int levels) {
    std::string text;
    for (int i = 0; i < levels; ++i) text += open;
    text += "$input.vip";
    if (open.back() == '(') text += std::string(static_cast<std::size_t>(levels), ')');
    return text;
  };
  CHECK(f.test(nested("(", 32)));
  CHECK(f.test(nested("!!", 16)));
  CHECK(f.test(nested("!(", 16)));  // 32 levels, 16 of them '!'
  CHECK(error_offset(nested("(", 33)) == 32);
  CHECK(error_offset(nested("!", 33)) == 32);
  CHECK(error_offset(nested("!(", 17)) == 32);
  CHECK(error_message(nested("!", 33)) ==
        "expression nested deeper than 32 levels of parentheses and '!'");
  // No recursion follows the text: 4000 levels are refused as quickly as 33.
  CHECK(error_offset(std::string(4000, '!') + "true") == 32);
  CHECK(error_offset(std::string(4000, '(')) == 32);
}

TEST_CASE("a path has at most 32 segments, the 33rd is refused at its dot") {
  std::string path = "$input";
  for (int i = 0; i < 32; ++i) path += ".a";
  CHECK(flow::parse_path(path).segments.size() == 32);
  CHECK(flow::parse_expression(path + " == null").paths().size() == 1);
  try {
    (void)flow::parse_path(path + ".a");
    FAIL("a 33-segment path was accepted");
  } catch (const flow::ParseError& error) {
    CHECK(error.offset == path.size());
    CHECK(std::string(error.what()) == "path longer than 32 segments");
  }
  CHECK(error_offset("true && " + path + ".a") == 8 + path.size());
}

TEST_CASE("number literals out of a double's range are refused, never rounded to infinity") {
  CHECK(error_message("$input.amount < 1e999") == "number out of range");
  CHECK(error_offset("$input.amount < 1e999") == 16);
  CHECK(error_offset("$input.amount > -1e999") == 16);
  // Integers beyond 64 bits become doubles, which compare by value.
  const Fixture f;
  CHECK(f.test("$input.big < 99999999999999999999999"));
  CHECK(f.test("$input.neg > -99999999999999999999999"));
  CHECK(f.test("$input.big == 18446744073709551615"));
  CHECK(f.test("-9223372036854775808 < $input.neg"));
}
