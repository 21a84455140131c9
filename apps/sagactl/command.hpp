#pragma once
// A sagactl subcommand: adding one means writing its run function in its own file and adding a
// row to the table in commands.cpp. Everything but main() is the library sagactl_lib, so that
// tests run the commands in-process with their own streams and environment.
#include <functional>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sagactl {

// Exit codes shared by every subcommand; scripts rely on them (`sagactl --help` lists them).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // the command ran and found a problem (lint errors,
                                            // a saga or a deploy refused: 409, 422)
inline constexpr int kExitUsage = 2;        // the command line itself is wrong (or the server
                                            // said 400 to what it asked)
inline constexpr int kExitNotFound = 3;     // unknown saga or flow (404)
inline constexpr int kExitUnavailable = 4;  // cannot reach the server, auth refused (401/403),
                                            // or the server's answer makes no sense
inline constexpr int kExitTimeout = 5;      // timed out waiting for a saga (start --wait-*)

// What a command reads and writes besides its arguments.
struct Context {
  std::ostream& out;
  std::ostream& err;
  // The environment; std::getenv in the program, a map in tests.
  std::function<std::optional<std::string>(std::string_view)> env;
  std::istream* in = nullptr;  // stdin, for `--input @-`; none when null
};

struct Command {
  std::string_view name;
  std::string_view summary;                                          // one line, for --help
  int (*run)(std::span<const std::string_view> args, Context& ctx);  // args after the name
};

// Runs `sagactl ARGS...` (args without the program name) and returns its exit status.
int dispatch(std::span<const std::string_view> args, Context& ctx);

int run_lint(std::span<const std::string_view> args, Context& ctx);
int run_diagram(std::span<const std::string_view> args, Context& ctx);
int run_test(std::span<const std::string_view> args, Context& ctx);
int run_simulate(std::span<const std::string_view> args, Context& ctx);
int run_deploy(std::span<const std::string_view> args, Context& ctx);
int run_schedules(std::span<const std::string_view> args, Context& ctx);
int run_start(std::span<const std::string_view> args, Context& ctx);
int run_list(std::span<const std::string_view> args, Context& ctx);
int run_show(std::span<const std::string_view> args, Context& ctx);
int run_retry(std::span<const std::string_view> args, Context& ctx);
int run_skip(std::span<const std::string_view> args, Context& ctx);
int run_edit(std::span<const std::string_view> args, Context& ctx);
int run_cancel(std::span<const std::string_view> args, Context& ctx);
int run_pause(std::span<const std::string_view> args, Context& ctx);
int run_resume(std::span<const std::string_view> args, Context& ctx);
int run_bulk(std::span<const std::string_view> args, Context& ctx);
int run_audit(std::span<const std::string_view> args, Context& ctx);
int run_send_event(std::span<const std::string_view> args, Context& ctx);
int run_flows(std::span<const std::string_view> args, Context& ctx);
int run_services(std::span<const std::string_view> args, Context& ctx);
int run_purge(std::span<const std::string_view> args, Context& ctx);
int run_conform(std::span<const std::string_view> args, Context& ctx);
int run_watch(std::span<const std::string_view> args, Context& ctx);

}  // namespace sagactl
