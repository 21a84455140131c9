// sagactl: the Sagaflow command line. Dispatches to one subcommand from the table below.
#include <array>
#include <iostream>
#include <string_view>
#include <vector>

#include "command.hpp"

namespace sagactl {
namespace {

constexpr std::array kCommands{
    Command{"lint", "check flow files and print every problem", run_lint},
};

void print_help(std::ostream& out) {
  out << "usage: sagactl COMMAND [ARGS...]\n\ncommands:\n";
  for (const auto& command : kCommands) {
    out << "  " << command.name << std::string(10 - command.name.size(), ' ') << command.summary
        << '\n';
  }
  out << "\nRun 'sagactl COMMAND --help' for a command's options.\n";
}

int dispatch(std::span<const std::string_view> args) {
  if (args.empty()) {
    print_help(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(std::cout);
    return kExitOk;
  }
  for (const auto& command : kCommands) {
    if (command.name == args[0]) return command.run(args.subspan(1));
  }
  std::cerr << "sagactl: unknown command '" << args[0] << "'\n";
  print_help(std::cerr);
  return kExitUsage;
}

}  // namespace
}  // namespace sagactl

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  return sagactl::dispatch(args);
}
