// `sagactl lint` on every file of tests/data/hostile/, as a user runs it: the real binary exits
// 1 within a second (a guard against a hang, as issue 11 asks, not a speed measurement), names
// the file and the position, and prints no raw control character.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hostile_cases.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace {

constexpr auto kDeadline = std::chrono::seconds(1);

struct LintRun {
  bool finished = false;  // false: killed at the deadline
  int status = -1;        // the exit status when it exited
  std::string output;     // stdout and stderr
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

LintRun run_lint(const fs::path& file) {
  const std::string binary = std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagactl";
  REQUIRE_MESSAGE(fs::exists(binary), binary << " is missing: build the sagactl target");
  const fs::path log =
      fs::temp_directory_path() / ("sagaflow-hostile-lint-" + std::to_string(getpid()) + ".log");
  std::vector<std::string> argv{binary, "lint", file.string()};
  std::vector<char*> args;
  for (auto& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, binary.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(spawned == 0, "cannot start " << binary);

  LintRun run;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  int status = 0;
  while (true) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      run.finished = true;
      run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  run.output = read_file(log);
  fs::remove(log);
  return run;
}

// A byte that would steer a terminal: a C0 control other than the line break, DEL, or the
// first byte of a C1 control (U+0080..U+009F).
bool has_raw_control(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte < 0x20 && byte != '\n') || byte == 0x7F) return true;
    if (byte == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0 &&
        static_cast<unsigned char>(text[i + 1]) >= 0x80) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("sagactl lint refuses every hostile file within a second, naming file and position") {
  const auto cases = flow_test::hostile_cases();
  REQUIRE(cases.size() >= 25);
  for (const auto& hostile : cases) {
    CAPTURE(hostile.file.filename().string());
    const LintRun run = run_lint(hostile.file);
    INFO(run.output);
    REQUIRE_MESSAGE(run.finished, "sagactl lint did not end within a second");
    CHECK(run.status == 1);
    CHECK(run.output.find(hostile.printed()) != std::string::npos);
    CHECK_FALSE(has_raw_control(run.output));
  }
}
