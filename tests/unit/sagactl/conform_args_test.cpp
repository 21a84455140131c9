// sagactl conform's command line: usage errors are caught before the broker is contacted, and a
// broker that cannot be reached is exit 4, its password never printed.
#include <doctest/doctest.h>

#include "command.hpp"
#include "support/free_port.hpp"
#include "support/run_sagactl.hpp"

using sagaflow::testing::run_sagactl;

namespace {

const std::vector<std::string> kRequired = {"conform",
                                            "--service",
                                            "points",
                                            "--command",
                                            "points.reserve",
                                            "--payload",
                                            R"({"order_id":"{{unique}}"})"};

std::vector<std::string> with(std::vector<std::string> extra) {
  auto args = kRequired;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST_CASE("conform: --service, --command and --payload are required") {
  auto run = run_sagactl({"conform", "--service", "points", "--command", "points.reserve"});
  CHECK(run.status == sagactl::kExitUsage);
  CHECK(run.err.find("--service, --command and --payload are required") != std::string::npos);
}

TEST_CASE("conform: a compensation needs its payload, and a payload must be a JSON object") {
  auto run = run_sagactl(with({"--compensation", "points.release"}));
  CHECK(run.status == sagactl::kExitUsage);
  CHECK(run.err.find("go together") != std::string::npos);
  auto bad = run_sagactl(
      {"conform", "--service", "points", "--command", "points.reserve", "--payload", "[1,\x1b[2K"});
  CHECK(bad.status == sagactl::kExitUsage);
  CHECK(bad.err.find("must be a JSON object") != std::string::npos);
  CHECK(bad.err.find("\\x1b[2K") != std::string::npos);  // escaped, not sent to the terminal
}

TEST_CASE("conform: --timeout and --max-message-bytes are bounded numbers") {
  CHECK(run_sagactl(with({"--timeout", "0"})).status == sagactl::kExitUsage);
  CHECK(run_sagactl(with({"--timeout", "soon"})).status == sagactl::kExitUsage);
  CHECK(run_sagactl(with({"--max-message-bytes", "-1"})).status == sagactl::kExitUsage);
}

TEST_CASE("conform: a broker that cannot be reached is exit 4, without its password") {
  const auto url =
      "amqp://guest:s3cret@127.0.0.1:" + std::to_string(sagaflow::testing::free_port()) + "/";
  auto run = run_sagactl(with({"--amqp", url}));
  CHECK(run.status == sagactl::kExitUnavailable);
  CHECK(run.err.find("sagactl conform: cannot connect to") != std::string::npos);
  CHECK(run.err.find("s3cret") == std::string::npos);
  // The same from $SAGAFLOW_AMQP_URL.
  auto from_env = run_sagactl(kRequired, {{"SAGAFLOW_AMQP_URL", url}});
  CHECK(from_env.status == sagactl::kExitUnavailable);
  CHECK(from_env.err.find("s3cret") == std::string::npos);
}
