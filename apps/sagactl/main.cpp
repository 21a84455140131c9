// sagactl: the Sagaflow command line. The commands and their table live in sagactl_lib
// (commands.cpp); this file only connects them to the process.
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <vector>

#include "command.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  sagactl::Context ctx{.out = std::cout,
                       .err = std::cerr,
                       .env = [](std::string_view name) -> std::optional<std::string> {
                         const char* value = std::getenv(std::string(name).c_str());
                         if (value == nullptr) return std::nullopt;
                         return std::string(value);
                       },
                       .in = &std::cin};
  const int status = sagactl::dispatch(args, ctx);
  std::cout.flush();
  return status;
}
