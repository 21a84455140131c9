#pragma once
// The python3 the tests run their Python programs with: Debian's, which has python3-pika and
// python3-psycopg2 (a pyenv or virtualenv python3 first on PATH may not), or SAGAFLOW_TEST_PYTHON.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace sagaflow::testing {

inline std::string python() {
  const char* configured = std::getenv("SAGAFLOW_TEST_PYTHON");
  std::string path = configured != nullptr && *configured != '\0' ? configured : "/usr/bin/python3";
  if (::access(path.c_str(), X_OK) != 0) {
    FAIL(path << " is not executable: install python3-pika (tools/setup) or set "
                 "SAGAFLOW_TEST_PYTHON");
  }
  return path;
}

}  // namespace sagaflow::testing
