#pragma once
// Runs sagactl in-process, as `sagactl ARGS...` would run, with its own environment, and returns
// its exit status and what it printed.
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"

namespace sagaflow::testing {

struct SagactlRun {
  int status = -1;
  std::string out;
  std::string err;
};

inline SagactlRun run_sagactl(std::vector<std::string> args,
                              std::map<std::string, std::string> env = {},
                              const std::string& stdin_text = {}) {
  std::ostringstream out;
  std::ostringstream err;
  std::istringstream in(stdin_text);
  sagactl::Context ctx{.out = out,
                       .err = err,
                       .env = [env](std::string_view name) -> std::optional<std::string> {
                         auto it = env.find(std::string(name));
                         if (it == env.end()) return std::nullopt;
                         return it->second;
                       },
                       .in = &in};
  const std::vector<std::string_view> views(args.begin(), args.end());
  SagactlRun run;
  run.status = sagactl::dispatch(views, ctx);
  run.out = out.str();
  run.err = err.str();
  return run;
}

}  // namespace sagaflow::testing
