// `sagactl services` against a fake admin endpoint: the request, the table, the warning on
// stderr and the exit codes (docs/sagactl.md).
#include <doctest/doctest.h>

#include "command.hpp"
#include "fake_admin.hpp"
#include "support/run_sagactl.hpp"

using sagaflow::testing::FakeAdmin;
using sagaflow::testing::run_sagactl;

namespace {

const char* kServices = R"({"services": [
  {"service": "points", "consumers": 0, "queued": 3, "in_flight": 2, "waiting": 0,
   "oldest_waiting_ms": 0, "last_reply_at": "2026-11-23T10:00:00.000Z", "without_consumer": true},
  {"service": "stock", "consumers": 1, "queued": 0, "in_flight": 0, "waiting": 0,
   "oldest_waiting_ms": 0, "last_reply_at": null, "without_consumer": false}],
  "without_consumer": ["points"]})";

}  // namespace

TEST_CASE("services prints a row per service and exits 1 when one has no consumer") {
  FakeAdmin admin;
  admin.on("GET", "/api/services", {200, kServices});
  auto r = run_sagactl({"services", "--url", admin.url()});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(admin.last().method == "GET");
  CHECK(admin.last().target == "/api/services");
  CHECK(r.out ==
        "SERVICE  CONSUMERS  QUEUED  IN FLIGHT  WAITING  OLDEST WAITING MS  LAST REPLY          "
        "      WARNING\n"
        "points   0          3       2          0        0                  "
        "2026-11-23T10:00:00.000Z  NO CONSUMER\n"
        "stock    1          0       0          0        0                  -\n");
  CHECK(r.err ==
        "warning: service points has commands waiting and no consumer: start a worker for it\n");
}

TEST_CASE("services exits 0 when every service is served, and --json prints the answer") {
  FakeAdmin admin;
  const std::string body =
      R"({"services": [{"service": "stock", "consumers": 2, "queued": 0, "in_flight": 1, )"
      R"("waiting": 0, "oldest_waiting_ms": 0, "last_reply_at": null, "without_consumer": false}], )"
      R"("without_consumer": []})";
  admin.on("GET", "/api/services", {200, body});
  auto r = run_sagactl({"services", "--url", admin.url(), "--json"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(r.out == body + "\n");
  admin.on("GET", "/api/services", {200, R"({"services": [], "without_consumer": []})"});
  auto none = run_sagactl({"services", "--url", admin.url()});
  CHECK(none.status == sagactl::kExitOk);
}

TEST_CASE("services exits 4 when the daemon does not serve, and 2 on an argument") {
  FakeAdmin admin;
  admin.on("GET", "/api/services",
           {503, R"({"error": {"code": "unavailable", "message": "not serving yet"}})"});
  auto r = run_sagactl({"services", "--url", admin.url()});
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("not serving yet") != std::string::npos);
  CHECK(run_sagactl({"services", "extra", "--url", admin.url()}).status == sagactl::kExitUsage);
}
