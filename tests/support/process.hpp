#pragma once
// A child process for the tests that run Sagaflow's programs (sagaflowd, sagaflow-participant):
// started with extra environment variables and its output in a log file, stopped (SIGTERM,
// then waited for) when it goes away, or killed and reaped on request. And output_of(), for a
// command whose output the test reads.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sagaflow::testing {

class Process {
 public:
  // `env` adds to (or overrides) this process's environment; `log` receives stdout and stderr
  // (empty: they stay this process's).
  explicit Process(std::vector<std::string> argv,
                   const std::map<std::string, std::string>& env = {},
                   const std::string& log = {}) {
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      if (!env.contains(entry.substr(0, entry.find('=')))) environment.push_back(entry);
    }
    for (const auto& [name, value] : env) environment.push_back(name + "=" + value);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!log.empty()) {
      posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0644);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
    }
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0]);
  }
  ~Process() { stop(SIGTERM); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Sends the signal and waits for the process to end.
  void stop(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    record(status);
  }

  // Sends the signal without waiting: wait_for_end() tells how it ended.
  void signal(int signal) const {
    if (pid_ > 0) kill(pid_, signal);
  }

  // Waits up to `patience` for the process to end by itself; returns the signal that ended it
  // (0 for a normal exit, -1 when it is still running).
  int wait_for_end(std::chrono::seconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        record(status);
        return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  bool running() const { return pid_ > 0; }
  // The exit status of a process that ended by itself (exit or return from main); -1 while it
  // runs or when a signal ended it.
  int exit_code() const { return exit_code_; }

 private:
  void record(int status) {
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// What a shell command prints on stdout; the test fails when it does not exit with 0.
inline std::string output_of(const std::string& command) {
  std::string text;
  FILE* out = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(out != nullptr, "cannot run " << command);
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof buffer, out)) text.append(buffer, n);
  REQUIRE_MESSAGE(::pclose(out) == 0, command << " failed: " << text);
  return text;
}

}  // namespace sagaflow::testing
