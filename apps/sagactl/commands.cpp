// The table of sagactl's subcommands and the top-level help.
#include <array>
#include <ostream>
#include <string>
#include <vector>

#include "command.hpp"

namespace sagactl {
namespace {

constexpr std::array kCommands{
    Command{"lint", "check flow files and print every problem", run_lint},
    Command{"diagram", "draw a flow's happy and failure paths as Mermaid sequence diagrams",
            run_diagram},
    Command{"test", "run a flow's test cases on the engine, without any service", run_test},
    Command{"simulate", "run every failure case of a flow on the engine and check each",
            run_simulate},
    Command{"deploy", "deploy a flow file to the daemon", run_deploy},
    Command{"start", "start a saga, optionally waiting for a step or its end", run_start},
    Command{"list", "list sagas, newest first, with filters", run_list},
    Command{"show", "show one saga and its history as a timeline", run_show},
    Command{"retry", "retry a failed (parked) saga, or every failed one", run_retry},
    Command{"skip", "skip the failed step of a parked saga with a given output", run_skip},
    Command{"edit", "edit a parked saga's input, then retry it", run_edit},
    Command{"cancel", "cancel a running saga (it compensates)", run_cancel},
    Command{"pause", "pause a saga (it sends nothing until resumed), or a flow's starts",
            run_pause},
    Command{"resume", "resume a paused saga or flow", run_resume},
    Command{"bulk", "cancel, retry, pause or resume every saga a filter finds (--dry-run)",
            run_bulk},
    Command{"audit", "list the operators' actions, newest first", run_audit},
    Command{"schedules", "list, deploy, pause, resume or delete schedules (cron starts)",
            run_schedules},
    Command{"send-event", "send an outside event, as a participant publishing it would",
            run_send_event},
    Command{"watch", "print the sagas' changes as they happen", run_watch},
    Command{"flows", "list the deployed flows and their versions", run_flows},
    Command{"services", "show each service's consumers, commands waiting and last reply",
            run_services},
    Command{"purge", "remove finished sagas past their retention now (--dry-run: show them)",
            run_purge},
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
    "is) and --http-timeout MS (default 30000), before or after the command:\n"
    "'sagactl --url URL show ID' is 'sagactl show ID --url URL'.\n"
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
    out << "  " << command.name << std::string(12 - command.name.size(), ' ') << command.summary
        << '\n';
  }
  out << kHelpTail;
}

// The admin commands' common options, which may also come before the command:
// `sagactl --url URL show ID` is `sagactl show ID --url URL`.
constexpr std::array<std::string_view, 3> kGlobalValues{"--url", "--token-file", "--http-timeout"};
constexpr std::string_view kGlobalFlag = "--json";

// How many arguments the global option at the front of `args` takes (0: none is there).
std::size_t global_option_at(std::span<const std::string_view> args) {
  const auto arg = args.front();
  if (arg == kGlobalFlag) return 1;
  for (const auto name : kGlobalValues) {
    if (arg == name) return args.size() > 1 ? 2 : 1;  // a missing value: the command says so
    if (arg.starts_with(name) && arg.size() > name.size() && arg[name.size()] == '=') return 1;
  }
  return 0;
}

}  // namespace

int dispatch(std::span<const std::string_view> all, Context& ctx) {
  // Global options before the command go after it, before the command's own arguments (so
  // that a `--` among those still ends the options).
  std::vector<std::string_view> moved;
  auto args = all;
  while (!args.empty()) {
    const auto n = global_option_at(args);
    if (n == 0) break;
    moved.insert(moved.end(), args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
    args = args.subspan(n);
  }
  if (!moved.empty() && !args.empty()) {
    std::vector<std::string_view> reordered{args.front()};
    reordered.insert(reordered.end(), moved.begin(), moved.end());
    reordered.insert(reordered.end(), args.begin() + 1, args.end());
    return dispatch(reordered, ctx);
  }
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
