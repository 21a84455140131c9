// The daemon's log level: which lines are written, and the names it is set by.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sagaflow/http/log.hpp"

namespace logging = sagaflow::log;

namespace {

// Captures the lines written while it lives; restores stderr and the info level after.
struct Captured {
  std::vector<std::string> lines;
  Captured() {
    logging::set_sink([this](std::string_view line) { lines.emplace_back(line); });
  }
  ~Captured() {
    logging::set_sink({});
    logging::set_level(logging::Level::info);
  }
};

}  // namespace

TEST_CASE("lines below the level are dropped, the others written") {
  Captured captured;
  logging::set_level(logging::Level::warn);
  logging::debug("d");
  logging::info("i");
  logging::warn("w");
  logging::error("e");
  REQUIRE(captured.lines.size() == 2);
  CHECK(captured.lines[0].find(R"("level":"warn","msg":"w")") != std::string::npos);
  CHECK(captured.lines[1].find(R"("level":"error","msg":"e")") != std::string::npos);
  CHECK_FALSE(logging::enabled(logging::Level::info));
  CHECK(logging::enabled(logging::Level::error));
}

TEST_CASE("at debug every line is written, at error only errors") {
  Captured captured;
  logging::set_level(logging::Level::debug);
  logging::debug("d");
  logging::info("i");
  CHECK(captured.lines.size() == 2);
  logging::set_level(logging::Level::error);
  logging::warn("w");
  logging::error("e");
  CHECK(captured.lines.size() == 3);
}

TEST_CASE("the level names") {
  CHECK(logging::parse_level("debug") == logging::Level::debug);
  CHECK(logging::parse_level("info") == logging::Level::info);
  CHECK(logging::parse_level("warn") == logging::Level::warn);
  CHECK(logging::parse_level("error") == logging::Level::error);
  CHECK_FALSE(logging::parse_level("warning").has_value());
  CHECK_FALSE(logging::parse_level("INFO").has_value());
  CHECK_FALSE(logging::parse_level("").has_value());
  CHECK(std::string(logging::level_name(logging::Level::warn)) == "warn");
}
