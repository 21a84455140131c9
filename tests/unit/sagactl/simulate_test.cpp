// `sagactl simulate`: a flow whose compensations are right passes every case; a broken copy with
// a compensation missing is caught, with the case's history, and exits 1.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "support/run_sagactl.hpp"

using sagaflow::testing::run_sagactl;

TEST_CASE("sagactl simulate passes every failure case of a sound flow") {
  auto r = run_sagactl({"simulate",
                        std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/offer_purchase.yaml",
                        "--json"});
  INFO(r.out);
  CHECK(r.status == 0);
  auto report = boost::json::parse(r.out).as_object();
  CHECK(report.at("violations") == 0);
  CHECK(report.at("cases").as_int64() > 20);
  const auto& first = report.at("results").as_array().at(0).as_object();
  CHECK(first.at("case") == "happy path");
  CHECK(first.at("status") == "completed");
}

TEST_CASE("sagactl simulate finds the compensation missing from a broken flow") {
  auto r = run_sagactl(
      {"simulate", std::string(SAGAFLOW_SOURCE_DIR) +
                       "/tests/data/simulate/certificate_redemption_missing_release.yaml"});
  CHECK(r.status == 1);
  CHECK(r.out.find("violation: payment_result: wait timeout (ended compensated)\n"
                   "  undone: the effect of hold was never undone\n"
                   "  history:\n") != std::string::npos);
  CHECK(r.out.find("    compensation_skipped hold") != std::string::npos);

  auto usage = run_sagactl({"simulate", "x.yaml", "--depth", "3"});
  CHECK(usage.status == 2);
}
