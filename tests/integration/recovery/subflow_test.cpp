// Sub-flows on the production pair: sagaflowd on PostgreSQL and RabbitMQ runs a parent flow
// whose steps start offer_purchase as child sagas, with the participants as processes; killed
// after a commit (between a parent's step and its child's end, among others) and started
// again, every parent ends as its input says with exactly its children, each effect once.
#include <doctest/doctest.h>

#include "production.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::run_sagactl;
using sagaflow::testing::recovery::Deployment;

namespace {

namespace json = sagaflow::json;

// The flows: offer_purchase (as deployed) and the parent (tests/data/subflows).
std::string flows_dir(const Deployment& d) {
  const auto dir = d.dir() / "flows";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/offer_purchase.yaml",
                             dir / "offer_purchase.yaml",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(
      std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/subflows/two_offers.yaml",
      dir / "two_offers.yaml", std::filesystem::copy_options::overwrite_existing);
  return dir.string();
}

json::value sagactl_json(const std::vector<std::string>& args) {
  auto run = run_sagactl(args);
  REQUIRE_MESSAGE(run.status == 0, "sagactl failed: " << run.out);
  return json::parse(run.out);
}

// The saga `key` started, once it has ended (within `patience`), as GET /api/sagas/{id} shows it.
json::object ended(Deployment& d, const std::string& flow, const std::string& key,
                   std::chrono::seconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (true) {
    auto list = sagactl_json({"list", "--flow", flow, "--key", key, "--url", d.url(0), "--json"});
    const auto& sagas = list.at("sagas").as_array();
    if (!sagas.empty()) {
      const std::string status(sagas.at(0).at("status").as_string());
      if (status == "completed" || status == "compensated" || status == "failed" ||
          status == "cancelled") {
        const std::string id(sagas.at(0).at("id").as_string());
        return sagactl_json({"show", id, "--url", d.url(0), "--json"}).as_object();
      }
    }
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                    "saga " << key << " did not end; see " << d.dir());
    std::this_thread::sleep_for(100ms);
  }
}

std::string status_of(Deployment& d, const std::string& id) {
  return std::string(
      sagactl_json({"show", id, "--url", d.url(0), "--json"}).at("saga").at("status").as_string());
}

}  // namespace

TEST_CASE("sub-flows on the production pair, killed after a commit and restarted") {
  Deployment d("subflows");
  const std::map<std::string, std::string> flows{{"SAGAFLOW_FLOWS", flows_dir(d)}};
  // Killed after its fourth commit: a parent's child is started, its end not yet come.
  d.start_daemon("after_commit:4", 0, flows);
  // carol buys twice (both children complete); bob's second purchase is too dear: his second
  // child compensates itself and his completed first child is compensated by the parent.
  struct Case {
    std::string key;
    json::object input;
    std::string end;
  };
  const std::vector<Case> cases{
      {"carol-1", {{"user_id", "carol"}, {"first_price", 10}, {"second_price", 20}}, "completed"},
      {"bob-1", {{"user_id", "bob"}, {"first_price", 10}, {"second_price", 400}}, "compensated"},
  };
  int crashes = 0;
  for (const auto& c : cases) {
    for (int attempt = 0; !d.try_start(0, "two_offers", c.key, c.input); ++attempt) {
      REQUIRE(attempt < 3);
      if (d.daemon(0).wait_for_end(30s) == SIGKILL) ++crashes;
      d.start_daemon({}, 0, flows);
    }
  }
  if (crashes == 0) {
    const int signal = d.daemon(0).wait_for_end(20s);
    if (signal == SIGKILL) ++crashes;
    if (signal != -1) d.start_daemon({}, 0, flows);
  }
  CHECK_MESSAGE(crashes == 1, "the fault point was not reached");

  for (const auto& c : cases) {
    auto shown = ended(d, "two_offers", c.key, 90s);
    const auto& saga = shown.at("saga").as_object();
    CHECK_MESSAGE(saga.at("status").as_string() == c.end, c.key << ": " << json::serialize(saga));
    // One child per subflow step that ran, each linked back to its parent.
    const auto& children = saga.at("children").as_array();
    REQUIRE(children.size() == 2);
    for (const auto& child : children) {
      const std::string id(child.at("id").as_string());
      auto child_shown = sagactl_json({"show", id, "--url", d.url(0), "--json"});
      CHECK(child_shown.at("saga").at("parent").at("id") == saga.at("id"));
      CHECK(child_shown.at("saga").at("flow").as_string() == "offer_purchase");
    }
    if (c.end == "completed") {
      for (const auto& child : children) {
        CHECK(status_of(d, std::string(child.at("id").as_string())) == "completed");
      }
    } else {
      // Both children ended compensated: the second failed, the first was compensated.
      for (const auto& child : children) {
        CHECK(status_of(d, std::string(child.at("id").as_string())) == "compensated");
      }
    }
  }
  // Exactly the children of the parents' steps: none twice.
  auto children = sagactl_json({"list", "--flow", "offer_purchase", "--url", d.url(0), "--json"});
  CHECK(children.at("sagas").as_array().size() == 4);

  // Each effect once, and at least carol's 2 purchases (create, fulfil; reserve, debit), bob's
  // first (create, fulfil; reserve, debit, before its compensation) and his second (create,
  // cancel).
  auto applied = d.stop_participants();
  CHECK(applied["offers"].second == 0);
  CHECK(applied["points"].second == 0);
  CHECK(applied["offers"].first >= 2 * 2 + 2 + 2);
  CHECK(applied["points"].first >= 2 * 2 + 2);
}

TEST_CASE("a flow whose sub-flows would form a cycle is refused at deploy") {
  Deployment d("subflow-cycle");
  const std::map<std::string, std::string> flows{{"SAGAFLOW_FLOWS", flows_dir(d)}};
  d.start_daemon({}, 0, flows);
  const auto file = d.dir() / "offer_purchase_v2.yaml";
  {
    std::ofstream out(file);
    out << "name: offer_purchase\nversion: 2\nsteps:\n  - name: again\n    subflow:\n"
           "      flow: two_offers\n";
  }
  auto run = run_sagactl({"deploy", file.string(), "--url", d.url(0)});
  const auto said = run.out + run.err;
  CHECK(run.status != 0);
  CHECK_MESSAGE(said.find("6:13") != std::string::npos, said);
  CHECK_MESSAGE(said.find("sub-flows must not form a cycle") != std::string::npos, said);
}
