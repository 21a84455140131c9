// The input contract as a start meets it: unknown fields, types, nested paths, bounded errors,
// read from a flow's `input:` declaration.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sagaflow/flow/input_contract.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;
namespace json = boost::json;

namespace {

flow::InputContract contract_of(const std::string& input_yaml, const std::string& extra = "") {
  const auto result =
      flow::load_flow_text("name: f\nversion: 1\n" + extra + "input:\n" + input_yaml +
                               "steps:\n  - name: a\n    publish: "
                               "{ event: x.y }\n",
                           "contract.yaml");
  for (const auto& d : result.diagnostics) FAIL_CHECK(d.to_string());
  REQUIRE(result.flow != nullptr);
  return result.flow->input;
}

std::vector<std::string> messages(const flow::InputContract& contract, const std::string& input) {
  std::vector<std::string> out;
  for (const auto& p : flow::check_input(contract, json::parse(input)).problems) {
    out.push_back(p.message);
  }
  return out;
}

const char* const kTrip =
    "  car: { type: boolean, required: false }\n"
    "  nights: integer\n"
    "  guests:\n"
    "    type: array\n"
    "    items:\n"
    "      type: object\n"
    "      fields:\n"
    "        name: string\n"
    "        age: { type: integer, required: false }\n";

}  // namespace

TEST_CASE("a valid input passes, optional fields may be absent or null") {
  const auto contract = contract_of(kTrip);
  CHECK(messages(contract, R"({"nights": 2, "guests": [{"name": "Ann", "age": 4}]})").empty());
  CHECK(messages(contract, R"({"nights": 2, "car": null, "guests": [{"name": "Bo"}]})").empty());
}

TEST_CASE("an unknown field is refused with its path and the declared fields") {
  const auto contract = contract_of(kTrip);
  CHECK(
      messages(contract, R"({"cars": true, "nights": 2, "guests": []})") ==
      std::vector<std::string>{"input.cars: unknown field (expected fields: car, nights, guests)"});
}

TEST_CASE("additional_input_fields: true lets undeclared fields through, still typed") {
  const auto contract = contract_of("  nights: integer\n", "additional_input_fields: true\n");
  CHECK(contract.additional_fields);
  CHECK(messages(contract, R"({"nights": 2, "note": "anything"})").empty());
  CHECK(messages(contract, R"({"nights": "2", "note": "x"})") ==
        std::vector<std::string>{R"(input.nights: expected an integer, got the string "2")"});
}

TEST_CASE("a flow without input: takes any object, but not another JSON value") {
  const flow::InputContract none;
  CHECK(messages(none, R"({"anything": [1, 2]})").empty());
  CHECK(messages(none, "[1]") ==
        std::vector<std::string>{"input: expected an object, got an array"});
}

TEST_CASE("every type mismatch names the expected type and what came") {
  const auto contract = contract_of(
      "  s: string\n  n: number\n  i: integer\n  b: boolean\n  o: object\n  a: array\n  x: any\n");
  CHECK(messages(contract, R"({"s": 1, "n": "1", "i": 2.5, "b": "true", "o": [], "a": {},
                              "x": null})") ==
        std::vector<std::string>{
            "input.s: expected a string, got the integer 1",
            R"(input.n: expected a number, got the string "1")",
            "input.i: expected an integer, got the number 2.5",
            R"(input.b: expected a boolean, got the string "true")",
            "input.o: expected an object, got an array",
            "input.a: expected an array, got an object",
            "input.x: required field is null (expected any value)",
        });
  CHECK(messages(contract, R"({"s": true, "n": false, "i": 3, "b": 0, "o": 1, "a": "x",
                              "x": 1})") == std::vector<std::string>{
                                                "input.s: expected a string, got true",
                                                "input.n: expected a number, got false",
                                                "input.b: expected a boolean, got the integer 0",
                                                "input.o: expected an object, got the integer 1",
                                                R"(input.a: expected an array, got the string "x")",
                                            });
  CHECK(messages(contract, "{}").at(0) == "input.s: required field is missing (expected a string)");
}

TEST_CASE("nested objects and array items are checked with their paths") {
  const auto contract = contract_of(kTrip);
  CHECK(messages(contract, R"({"nights": 1, "guests": [{"name": "A"}, {"name": "B"},
                               {"nme": "C", "age": "3"}, null]})") ==
        std::vector<std::string>{
            "input.guests[2].name: required field is missing (expected a string)",
            R"(input.guests[2].age: expected an integer, got the string "3")",
            "input.guests[2].nme: unknown field (expected fields: name, age)",
            "input.guests[3]: expected an object, got null",
        });
}

TEST_CASE("an object without fields takes any object, additional_fields opens a declared one") {
  const auto contract = contract_of(
      "  meta: object\n"
      "  address: { type: object, additional_fields: true, fields: { city: string } }\n"
      "  tags: { type: array, items: string }\n");
  CHECK(messages(contract, R"({"meta": {"a": 1}, "address": {"city": "Oslo", "zip": 1},
                              "tags": ["a", "b"]})")
            .empty());
  CHECK(messages(contract, R"({"meta": {}, "address": {"zip": 1}, "tags": ["a", 2]})") ==
        std::vector<std::string>{
            "input.address.city: required field is missing (expected a string)",
            "input.tags[1]: expected a string, got the integer 2",
        });
}

TEST_CASE("unknown fields come after the declared ones, sorted by name, odd keys quoted") {
  const auto contract = contract_of("  a: string\n");
  CHECK(messages(contract, R"({"zeta": 1, "b c": 2, "a": 1, "beta": 3})") ==
        std::vector<std::string>{
            "input.a: expected a string, got the integer 1",
            R"(input["b c"]: unknown field (expected fields: a))",
            "input.beta: unknown field (expected fields: a)",
            "input.zeta: unknown field (expected fields: a)",
        });
  CHECK(messages(contract, R"({"a": "x", "\u001b[2J": 1})").at(0) ==
        R"(input["\u001b[2J"]: unknown field (expected fields: a))");
}

TEST_CASE("a string quoted in a message is cut to kMaxQuotedInput bytes") {
  const auto contract = contract_of("  n: integer\n");
  const std::string long_text(100, 'z');
  CHECK(messages(contract, R"({"n": ")" + long_text + R"("})") ==
        std::vector<std::string>{R"(input.n: expected an integer, got the string ")" +
                                 std::string(flow::kMaxQuotedInput, 'z') + R"(...")"});
}

TEST_CASE("many problems are bounded: the first ones listed, the rest counted") {
  const auto contract = contract_of("  n: { type: array, items: integer }\n");
  json::array items;
  for (int i = 0; i < 50; ++i) items.emplace_back("x");
  const auto check = flow::check_input(contract, json::object{{"n", items}});
  REQUIRE(check.problems.size() == flow::kMaxInputProblems);
  CHECK(check.problems.front().path == "input.n[0]");
  CHECK(check.problems.back().path ==
        "input.n[" + std::to_string(flow::kMaxInputProblems - 1) + "]");
  CHECK(check.omitted == 50 - flow::kMaxInputProblems);
  CHECK(check.summary().ends_with("; and " + std::to_string(50 - flow::kMaxInputProblems) +
                                  " more problems"));
}

TEST_CASE("the loader reads nested declarations into the model") {
  const auto contract = contract_of(kTrip);
  CHECK(contract.declared);
  REQUIRE(contract.fields.size() == 3);
  const auto& guests = contract.fields[2];
  CHECK(guests.type == flow::FieldType::array);
  REQUIRE(guests.items != nullptr);
  CHECK(guests.items->type == flow::FieldType::object);
  CHECK(guests.items->fields_declared);
  REQUIRE(guests.items->fields.size() == 2);
  CHECK(guests.items->fields[1].name == "age");
  CHECK_FALSE(guests.items->fields[1].required);
}

TEST_CASE("additional_input_fields without input is refused at its position") {
  const auto result = flow::load_flow_text(
      "name: f\nversion: 1\nadditional_input_fields: true\nsteps:\n  - name: a\n"
      "    publish: { event: x.y }\n",
      "extra.yaml");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].line == 3);
  CHECK(result.diagnostics[0].column == 1);
  CHECK(result.diagnostics[0].message.find("'additional_input_fields' needs 'input'") !=
        std::string::npos);
}
