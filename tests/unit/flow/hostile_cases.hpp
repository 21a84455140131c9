#pragma once
// The hostile flow files of tests/data/hostile/ with what each must be refused with (see the
// README there).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "flow_files.hpp"

namespace flow_test {

struct HostileCase {
  std::filesystem::path file;
  int line = 0;  // 0: the problem concerns the whole file
  int column = 0;
  std::string text;  // a substring of the message

  // What `sagactl lint` prints for it: `FILE:LINE:COL: error: TEXT` or `FILE: error: TEXT`.
  std::string printed() const {
    const std::string where =
        line > 0 ? ":" + std::to_string(line) + ":" + std::to_string(column) : std::string();
    return file.string() + where + ": error: " + text;
  }
};

inline std::filesystem::path hostile_dir() {
  return std::filesystem::path(SAGAFLOW_SOURCE_DIR) / "tests" / "data" / "hostile";
}

inline std::vector<HostileCase> hostile_cases() {
  static const std::regex pattern(R"(^(\d+):(\d+): (.+)$)");
  std::vector<HostileCase> cases;
  for (const auto& file : yaml_files(hostile_dir())) {
    auto expected_file = file;
    expected_file.replace_extension(".expected");
    std::ifstream in(expected_file);
    std::string line;
    std::getline(in, line);
    std::smatch match;
    INFO("expectation of " << file.filename().string() << ": '" << line << "'");
    REQUIRE(std::regex_match(line, match, pattern));
    cases.push_back({file, std::stoi(match[1]), std::stoi(match[2]), match[3]});
  }
  return cases;
}

}  // namespace flow_test
