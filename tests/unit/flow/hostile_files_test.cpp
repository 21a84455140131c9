// Every file of tests/data/hostile/ is refused by the loader with its expected diagnostic.
#include <doctest/doctest.h>

#include <algorithm>

#include "hostile_cases.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;

TEST_CASE("every hostile file is refused with its expected diagnostic") {
  const auto cases = flow_test::hostile_cases();
  REQUIRE(cases.size() >= 25);
  for (const auto& hostile : cases) {
    CAPTURE(hostile.file.filename().string());
    const auto result = flow::load_flow_file(hostile.file);
    INFO(flow_test::all_diagnostics(result));
    CHECK_FALSE(result.ok());
    CHECK(result.flow == nullptr);
    const bool found =
        std::any_of(result.diagnostics.begin(), result.diagnostics.end(), [&](const auto& d) {
          return d.line == hostile.line && d.column == hostile.column &&
                 d.message.find(hostile.text) != std::string::npos;
        });
    CHECK_MESSAGE(found,
                  "expected " << hostile.line << ":" << hostile.column << ": " << hostile.text);
  }
}
