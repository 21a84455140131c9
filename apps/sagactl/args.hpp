#pragma once
// The command-line parsing every subcommand shares: `--name VALUE`, `--name=VALUE`, flags,
// `--help`/`-h`, and `--` before positional arguments that start with '-'.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"

namespace sagactl {

class ArgParser {
 public:
  // `usage` is printed for --help (to stdout) and after a usage error (to stderr).
  ArgParser(std::string_view command, std::string_view usage) : command_(command), usage_(usage) {}

  ArgParser& flag(std::string_view name, bool& target);
  ArgParser& value(std::string_view name, std::optional<std::string>& target);

  // Parses the arguments: nullopt when the command should go on, else the exit status to return
  // at once (0 after --help, kExitUsage after an error, both already printed).
  std::optional<int> parse(std::span<const std::string_view> args, Context& ctx);
  const std::vector<std::string>& positional() const { return positional_; }

  // Prints "sagactl COMMAND: message" and the usage to stderr; returns kExitUsage.
  int usage_error(Context& ctx, std::string_view message) const;

 private:
  struct Option {
    std::string_view name;
    bool* flag = nullptr;
    std::optional<std::string>* value = nullptr;
  };
  const Option* find(std::string_view name) const;

  std::string_view command_;
  std::string_view usage_;
  std::vector<Option> options_;
  std::vector<std::string> positional_;
};

// The text an option gives as TEXT, @FILE (read from the file) or @- (read from stdin).
// nullopt, with `problem` set, when the file or stdin cannot be read. `option` names it there.
std::optional<std::string> argument_text(const std::string& value, std::string_view option,
                                         Context& ctx, std::string& problem);

// Parses a decimal integer in [min, max]; nullopt when it is not one.
std::optional<long long> parse_integer(std::string_view text, long long min, long long max);

}  // namespace sagactl
