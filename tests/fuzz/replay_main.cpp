// Runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer: the normal build
// replays the regression corpus and the seeds with it (tests/fuzz/README.md). Arguments are files
// or folders (read recursively, in name order); `--timeout=SECONDS` (default 10) bounds each
// input: one that takes longer is a hang, reported by name, and the replay fails. A crash is the
// target's own (abort, sanitizer): the last "replaying" line names the input.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

// The input being run, for the alarm handler (which may only write and exit).
std::string current;

void on_alarm(int) {
  static constexpr char kMessage[] = "replay: TIMEOUT (a hang) on ";
  [[maybe_unused]] auto a = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  [[maybe_unused]] auto b = ::write(STDERR_FILENO, current.data(), current.size());
  [[maybe_unused]] auto c = ::write(STDERR_FILENO, "\n", 1);
  ::_exit(1);
}

std::vector<fs::path> inputs_of(const std::vector<std::string>& arguments) {
  std::vector<fs::path> inputs;
  for (const auto& argument : arguments) {
    if (fs::is_directory(argument)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(argument)) {
        if (entry.is_regular_file() && entry.path().filename() != "README.md") {
          found.push_back(entry.path());
        }
      }
      std::sort(found.begin(), found.end());
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(argument)) {
      inputs.emplace_back(argument);
    } else {
      std::cerr << "replay: no such file or folder: " << argument << "\n";
      std::exit(2);
    }
  }
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned timeout = 10;
  std::vector<std::string> arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument.starts_with("--timeout=")) {
      timeout = static_cast<unsigned>(std::stoul(std::string(argument.substr(10))));
    } else {
      arguments.emplace_back(argument);
    }
  }
  if (arguments.empty()) {
    std::cerr << "usage: " << argv[0] << " [--timeout=SECONDS] FILE_OR_FOLDER...\n";
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::signal(SIGALRM, on_alarm);

  const auto inputs = inputs_of(arguments);
  for (const auto& input : inputs) {
    current = input.string();
    std::cerr << "replaying " << current << "\n";
    std::ifstream file(input, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                  std::istreambuf_iterator<char>());
    ::alarm(timeout);
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ::alarm(0);
  }
  std::cout << "replay: " << inputs.size() << " inputs, no crash, no hang\n";
  return 0;
}
