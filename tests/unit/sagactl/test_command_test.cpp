// `sagactl test`: a wrong expectation fails with a diff that names what differs, in the text,
// JUnit and JSON reports; a right one passes; bad files and usage get their exit codes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "support/run_sagactl.hpp"

using sagaflow::testing::run_sagactl;

namespace {

const std::string kFlow = std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/points_charge.yaml";
const std::string kWrong =
    std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/sagactl/wrong_expectations.cases.yaml";

}  // namespace

TEST_CASE("sagactl test fails a wrong expectation with a diff of what differs") {
  auto r = run_sagactl({"test", kFlow, kWrong});
  CHECK(r.status == 1);
  CHECK(r.out.starts_with("points_charge: 3 cases from " + kWrong + "\n"));
  CHECK(r.out.find("ok    right  (line 9, 0s on the clock)\n") != std::string::npos);
  CHECK(r.out.find("FAIL  wrong status and commands  (line 12, 0s on the clock)\n"
                   "      status: expected completed, got compensated\n"
                   "      commands: (- expected, + actual)\n"
                   "          payment_gateway.charge\n"
                   "          points.add\n"
                   "        - points.add\n"
                   "      compensations: (- expected, + actual)\n"
                   "        + payment_gateway.refund\n") != std::string::npos);
  CHECK(
      r.out.find(
          "FAIL  wrong output and event payload  (line 20, 0s on the clock)\n"
          "      outputs.add_points: (- expected, + actual)\n"
          "        - {\"credit_id\":\"cr2\",\"balance\":800}\n"
          "        + {\"credit_id\":\"cr1\",\"balance\":800}\n"
          "      events: (- expected, + actual)\n"
          "        - {\"event\":\"points.charged\",\"payload\":{\"user_id\":\"u1\",\"amount\":400,"
          "\"payment_id\":\"pay1\",\"balance\":800}}\n"
          "        + {\"event\":\"points.charged\",\"payload\":{\"user_id\":\"u1\",\"amount\":500,"
          "\"payment_id\":\"pay1\",\"balance\":800}}\n") != std::string::npos);
  CHECK(r.out.ends_with("3 cases: 1 passed, 2 failed\n"));
}

TEST_CASE("sagactl test writes a JUnit report and JSON") {
  const auto junit = std::filesystem::path(SAGAFLOW_BINARY_DIR) / "test-output" / "wrong.xml";
  std::filesystem::create_directories(junit.parent_path());
  auto r = run_sagactl({"test", kFlow, kWrong, "--json", "--junit", junit.string()});
  CHECK(r.status == 1);
  auto report = boost::json::parse(r.out).as_object();
  CHECK(report.at("flow") == "points_charge");
  CHECK(report.at("passed") == 1);
  CHECK(report.at("failed") == 2);
  const auto& second = report.at("cases").as_array().at(1).as_object();
  CHECK(second.at("name") == "wrong status and commands");
  CHECK(second.at("passed") == false);
  const auto& status = second.at("mismatches").as_array().at(0).as_object();
  CHECK(status.at("field") == "status");
  CHECK(status.at("expected") == "completed");
  CHECK(status.at("actual") == "compensated");

  std::ifstream in(junit);
  std::stringstream xml;
  xml << in.rdbuf();
  const auto text = xml.str();
  CHECK(
      text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"3\" "
                       "failures=\"2\""));
  CHECK(text.find("<testcase classname=\"points_charge\" name=\"right\"") != std::string::npos);
  CHECK(text.find("<failure message=\"status: expected completed, got compensated\" "
                  "type=\"expectation\">") != std::string::npos);
  CHECK(text.find("- {&quot;credit_id&quot;:&quot;cr2&quot;") != std::string::npos);
}

TEST_CASE("sagactl test passes every case of a right file and refuses bad input") {
  auto ok = run_sagactl(
      {"test", kFlow,
       std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/tests/points_charge.cases.yaml"});
  CHECK(ok.status == 0);
  CHECK(ok.out.ends_with(" passed, 0 failed\n"));

  auto usage = run_sagactl({"test", kFlow});
  CHECK(usage.status == 2);
  CHECK(usage.err.find("give a flow file and a case file") != std::string::npos);

  const auto bad = std::filesystem::path(SAGAFLOW_BINARY_DIR) / "test-output" / "bad.cases.yaml";
  std::filesystem::create_directories(bad.parent_path());
  std::ofstream(bad) << "cases:\n  - name: x\n    expect: { status: done }\n";
  auto refused = run_sagactl({"test", kFlow, bad.string()});
  CHECK(refused.status == 1);
  CHECK(refused.err == bad.string() +
                           ":3:23: error: unknown status 'done'; expected one of: pending, "
                           "running, waiting, compensating, completed, compensated, failed, "
                           "cancelled\n");
}
