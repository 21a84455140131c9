// The table of sagactl's subcommands and the top-level help.
#include <array>
#include <ostream>
#include <string>

#include "command.hpp"

namespace sagactl {
namespace {

constexpr std::array kCommands{
    Command{"lint", "check flow files and print every problem", run_lint},
    Command{"diagram", "draw a flow's happy and failure paths as Mermaid sequence diagrams",
            run_diagram},
    Command{"deploy", "deploy a flow file to the daemon", run_deploy},
    Command{"start", "start a saga, optionally waiting for a step or its end", run_start},
    Command{"list", "list sagas, newest first, with filters", run_list},
    Command{"show", "show one saga and its history as a timeline", run_show},
    Command{"retry", "retry a failed (parked) saga, or every failed one", run_retry},
    Command{"cancel", "cancel a running saga (it compensates)", run_cancel},
    Command{"watch", "print the sagas' changes as they happen", run_watch},
    Command{"flows", "list the deployed flows and their versions", run_flows},
    Command{"conform", "check a live worker against the wire protocol (docs/protocol.md)",
            run_conform},
};

constexpr std::string_view kHelpTail =
    "\n"
    "Run 'sagactl COMMAND --help' for a command's options.\n"
    "\n"
    "Commands that talk to the daemon's admin endpoint take --url URL (default\n"
    "$SAGAFLOW_ADMIN_URL, else http://127.0.0.1:7070), --token-file FILE (default: the token\n"
    "in $SAGAFLOW_ADMIN_TOKEN; it is never printed), --json (print the server's JSON as\n"
    "is) and --http-timeout MS (default 30000).\n"
    "\n"
    "exit status:\n"
    "  0  ok\n"
    "  1  the command ran and found a problem (lint errors, a saga or flow refused)\n"
    "  2  usage: the command line is wrong (or the server refused a parameter: 400)\n"
    "  3  not found: unknown saga or flow\n"
    "  4  cannot reach the server, the token was refused, or the answer made no sense\n"
    "  5  timed out waiting for the saga (start --wait-step/--wait-end; it keeps running)\n";

void print_help(std::ostream& out) {
  out << "usage: sagactl COMMAND [ARGS...]\n\ncommands:\n";
  for (const auto& command : kCommands) {
    out << "  " << command.name << std::string(10 - command.name.size(), ' ') << command.summary
        << '\n';
  }
  out << kHelpTail;
}

}  // namespace

int dispatch(std::span<const std::string_view> args, Context& ctx) {
  if (args.empty()) {
    print_help(ctx.err);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help(ctx.out);
    return kExitOk;
  }
  for (const auto& command : kCommands) {
    if (command.name == args[0]) return command.run(args.subspan(1), ctx);
  }
  ctx.err << "sagactl: unknown command '" << args[0] << "'\n";
  print_help(ctx.err);
  return kExitUsage;
}

}  // namespace sagactl
