// "Did you mean" in the loader's messages: the whole message, so that a suggestion where none
// belongs (or a missing one) fails.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

namespace {

// The messages of a flow with these steps, in order.
std::vector<std::string> messages_of(const std::string& steps) {
  const auto result = flow::load_flow_text("name: f\nversion: 1\nsteps:\n" + steps, "f.yaml");
  INFO(flow_test::all_diagnostics(result));
  std::vector<std::string> messages;
  for (const auto& diagnostic : result.diagnostics) messages.push_back(diagnostic.message);
  return messages;
}

std::string when_error(const std::string& condition) {
  const auto messages =
      messages_of("  - name: a\n    when: " + condition + "\n    publish: { event: a.done }\n");
  REQUIRE(messages.size() == 1);
  return messages.front();
}

}  // namespace

TEST_CASE("an unknown key close to a known one names it instead of listing them all") {
  const auto messages = messages_of(R"(  - name: reserve
    command: { service: points, name: reserve }
    irreversible: true
    retyr: { max_attempts: 2 }
)");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0] == "unknown key 'retyr' in step 'reserve'; did you mean 'retry'?");
}

TEST_CASE("an unknown key close to none lists the keys and suggests nothing") {
  const auto messages = messages_of(R"(  - name: reserve
    command: { service: points, name: reserve, payload: {} }
    irreversible: true
)");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0] == "unknown key 'payload' in command; expected one of: service, name, input");
}

TEST_CASE("an unknown step close to a step of the flow names it, a far one does not") {
  const auto messages = messages_of(R"(  - name: reserve_points
    command: { service: points, name: reserve }
    irreversible: true
  - name: charge
    command: { service: payments, name: charge, input: { a: $steps.reserve_pionts.id } }
    irreversible: true
    when: $steps.shipment.ok
)");
  REQUIRE(messages.size() == 2);
  CHECK(messages[0] ==
        "$steps.reserve_pionts.id refers to unknown step 'reserve_pionts'; did you "
        "mean 'reserve_points'?");
  CHECK(messages[1] == "$steps.shipment.ok refers to unknown step 'shipment'");
}

TEST_CASE("a step that exists but runs later gets no suggestion") {
  const auto messages = messages_of(R"(  - name: first
    when: $steps.second.ok
    publish: { event: first.done }
  - name: second
    publish: { event: second.done }
)");
  REQUIRE(messages.size() == 1);
  CHECK(messages[0] ==
        "$steps.second.ok reads step 'second', which has not finished when step "
        "'first' runs (it comes later, or in a parallel sibling branch)");
}

TEST_CASE("other languages' operators are named with the one to write, at the word") {
  CHECK(when_error("$input.a and $input.b") ==
        "invalid expression in 'when': 'and' is not an operator here; write '&&'");
  CHECK(when_error("$input.a || $input.b Or $input.c") ==
        "invalid expression in 'when': 'Or' is not an operator here; write '||'");
  CHECK(when_error("NOT $input.a") ==
        "invalid expression in 'when': 'NOT' is not an operator here; write '!'");
  CHECK(when_error("$input.a <> 1") ==
        "invalid expression in 'when': '<>' is not an operator here; write '!='");
  CHECK(when_error("$input.a = 1") ==
        "invalid expression in 'when': '=' is not an operator; compare with '=='");
}

TEST_CASE("other languages' constants are named with the one to write") {
  CHECK(when_error("$input.a == True") ==
        "invalid expression in 'when': 'True' is not a value here; write 'true'");
  CHECK(when_error("$input.a == FALSE") ==
        "invalid expression in 'when': 'FALSE' is not a value here; write 'false'");
  CHECK(when_error("$input.a == None") ==
        "invalid expression in 'when': 'None' is not a value here; write 'null'");
  CHECK(when_error("$input.a == Null") ==
        "invalid expression in 'when': 'Null' is not a value here; write 'null'");
}

TEST_CASE("a misspelt constant or root is suggested, a far word is not") {
  CHECK(when_error("$input.a == flase") ==
        "invalid expression in 'when': unknown word 'flase'; did you mean 'false'?");
  CHECK(when_error("$inputs.a == 1") ==
        "invalid expression in 'when': unknown path root '$inputs'; did you mean '$input'?");
  CHECK(when_error("$input.a == banana") ==
        "invalid expression in 'when': unknown word 'banana'; paths start with '$' and strings "
        "are quoted");
  CHECK(when_error("$order.a == 1") ==
        "invalid expression in 'when': unknown path root '$order'; expected $input, $steps, "
        "$reply, $event, $item or $saga");
}

TEST_CASE("a suggestion keeps the column of the word it is about") {
  const auto result = flow::load_flow_text(
      "name: f\nversion: 1\nsteps:\n  - name: a\n    when: $input.a == 1 and $input.b\n"
      "    publish: { event: a.done }\n",
      "f.yaml");
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(result.diagnostics[0].line == 5);
  CHECK(result.diagnostics[0].column == 25);
}
