// Any orchestrator answers: two sagaflowd on PostgreSQL and RabbitMQ sharing the partitions.
// A cancel or a retry sent to the one that does not own the saga is forwarded to its owner,
// whose answer comes back; once the owner is gone, the answer is 503 saying so.
#include <doctest/doctest.h>

#include "operations.hpp"

using namespace sagaflow::testing::operations;
using sagaflow::testing::run_sagactl;

namespace {

constexpr int kPartitions = 4;

// The owner of the saga's partition now (the lease table), "" when none.
std::string owner_of(Deployment& d, const std::string& id) {
  const auto leases = d.live_leases();
  const auto it = leases.find(sagaflow::partition_of(id, kPartitions));
  return it == leases.end() ? std::string() : it->second.first;
}

}  // namespace

TEST_CASE("an operator request sent to the orchestrator that does not own the saga is forwarded") {
  Deployment d("forward", 2);
  for (int i = 0; i < 2; ++i) {
    d.start_daemon({}, i,
                   {{"SAGAFLOW_FLOWS", operations_flows()},
                    {"SAGAFLOW_PARTITIONS", std::to_string(kPartitions)},
                    {"SAGAFLOW_LEASE_TTL_MS", "2000"},
                    {"SAGAFLOW_OWNER", "orchestrator-" + std::to_string(i)}});
  }
  for (int i = 0; i < 100 && d.leases_by_owner().size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(d.leases_by_owner().size() == 2);

  // Sagas started through orchestrator-1 land in its partitions; those it still owns are the
  // ones asked for through orchestrator-0.
  std::vector<std::string> theirs;
  for (int i = 0; i < 40 && theirs.size() < 3; ++i) {
    auto started = run_sagactl({"start", "signal_wait", "--input",
                                R"({"ref": "fwd-)" + std::to_string(i) + R"("})", "--url", d.url(1),
                                "--json"});
    if (started.status != 0) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    const std::string id(parsed(started.out).at("id").as_string());
    REQUIRE(saga_once(d.url(1), id, "waiting").at("status") == "waiting");
    if (owner_of(d, id) == "orchestrator-1") theirs.push_back(id);
  }
  REQUIRE(theirs.size() == 3);

  // A cancel through the non-owner: forwarded, committed by the owner, answered 200.
  auto cancelled = run_sagactl(
      {"cancel", theirs[0], "--reason", "through the other one", "--url", d.url(0), "--json"});
  CHECK_MESSAGE(cancelled.status == 0, cancelled.err);
  if (cancelled.status == 0) {
    CHECK(parsed(cancelled.out).at("id") == sagaflow::json::value(theirs[0]));
  }
  CHECK(saga_once(d.url(0), theirs[0], "cancelled").at("status") == "cancelled");

  // A retry through the non-owner: the owner's own answer comes back (409: a waiting saga is
  // not failed), not the non-owner's refusal (503).
  auto retried = run_sagactl({"retry", theirs[1], "--url", d.url(0)});
  CHECK(retried.status == 1);
  CHECK_MESSAGE((retried.err.find("conflict") != std::string::npos ||
                 retried.err.find("failed") != std::string::npos),
                retried.err);
  CHECK(saga_once(d.url(0), theirs[1], "waiting").at("status") == "waiting");

  // The owner is killed: until another takes its partitions over, the request cannot be
  // forwarded, and the answer is a 503 that says why.
  d.kill_daemon(1);
  auto orphan = run_sagactl({"cancel", theirs[2], "--url", d.url(0), "--json"});
  CHECK(orphan.status == 4);
  CHECK_MESSAGE((orphan.err.find("does not answer") != std::string::npos ||
                 orphan.err.find("no live owner") != std::string::npos),
                orphan.err);
  // Once orchestrator-0 owns the partition, the same request is its own.
  std::string owner;
  for (int i = 0; i < 150 && owner != "orchestrator-0"; ++i) {
    owner = owner_of(d, theirs[2]);
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(owner == "orchestrator-0");
  bool done = false;
  for (int i = 0; i < 50 && !done; ++i) {
    done = run_sagactl({"cancel", theirs[2], "--url", d.url(0)}).status == 0;
    if (!done) std::this_thread::sleep_for(200ms);
  }
  CHECK(done);
  CHECK(saga_once(d.url(0), theirs[2], "cancelled").at("status") == "cancelled");
}
