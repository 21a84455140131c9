#pragma once
// A sagactl subcommand: adding one means writing its run function in its own file and adding a
// row to the table in main.cpp.
#include <span>
#include <string_view>

namespace sagactl {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and found a problem
inline constexpr int kExitUsage = 2;    // the command line itself is wrong

struct Command {
  std::string_view name;
  std::string_view summary;                            // one line, for `sagactl --help`
  int (*run)(std::span<const std::string_view> args);  // args after the subcommand name
};

int run_lint(std::span<const std::string_view> args);

}  // namespace sagactl
