#pragma once
// Where the flow test data lives, and a loader shortcut for the tests.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sagaflow/flow/loader.hpp"

namespace flow_test {

inline std::filesystem::path flows_dir() {
  return std::filesystem::path(SAGAFLOW_SOURCE_DIR) / "tests" / "data" / "flows";
}

// The .yaml files directly in `dir`, sorted, so that test output is stable.
inline std::vector<std::filesystem::path> yaml_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string all_diagnostics(const sagaflow::flow::LoadResult& result) {
  std::string text;
  for (const auto& diagnostic : result.diagnostics) text += diagnostic.to_string() + "\n";
  return text;
}

}  // namespace flow_test
