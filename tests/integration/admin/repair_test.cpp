// An operator's repairs of a parked saga over HTTP on the embedded pair (SQLite, in-process bus,
// the example participants): POST /api/sagas/{id}/skip and /edit, with who and why recorded.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// tests/data/operations/points_repair.yaml: parks on `bonus` when its amount is 0; `confirm`
// reads $steps.bonus.credit_id.
std::string repair_flow() {
  std::ifstream in(std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/operations/points_repair.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Response post(Client& client, const std::string& target, const std::string& body,
              std::string_view actor = {}) {
  Request req{verb::post, target, 11};
  req.set(field::content_type, "application/json");
  if (!actor.empty()) req.set("X-Sagaflow-Actor", actor);
  req.body() = body;
  return client.send(std::move(req));
}

// Deploys the flow and starts a saga that parks on `bonus`; its id.
std::string parked_saga(Client& client, const std::string& reference) {
  Request deploy{verb::post, "/api/flows", 11};
  deploy.set(field::content_type, "application/yaml");
  deploy.body() = repair_flow();
  const auto deployed = client.send(std::move(deploy));
  REQUIRE_MESSAGE(deployed.result_int() < 300, deployed.body());
  auto res = client.request(verb::post, "/api/sagas",
                            R"({"flow": "points_repair", "input": {"user": "alice", "amount": 0,
                                "reference": ")" +
                                reference + R"("}, "wait": {"end": true}})");
  REQUIRE_MESSAGE(res.result() == status::created, res.body());
  REQUIRE(body_of(res).at("status") == "failed");
  return std::string(body_of(res).at("id").as_string());
}

json::value saga_when(Client& client, const std::string& id, std::string_view wanted) {
  json::value body;
  for (int i = 0; i < 200; ++i) {
    body = body_of(client.request(verb::get, "/api/sagas/" + id));
    if (body.at("saga").at("status") == json::value(std::string(wanted))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return body;
}

json::object history_record(const json::value& saga, std::string_view kind) {
  for (const auto& row : saga.at("history").as_array()) {
    if (row.at("kind") == json::value(std::string(kind))) return row.as_object();
  }
  FAIL("no history record " << kind);
  return {};
}

}  // namespace

TEST_CASE("a skip over HTTP is checked against what later steps read, then the saga goes on") {
  AdminWorld world;
  Client client(world.endpoint());
  const auto id = parked_saga(client, "repair-http-skip");
  const auto target = "/api/sagas/" + id + "/skip";

  auto missing = post(client, target, R"({"output": {"id": "c-1"}})");
  CHECK(missing.result() == status::unprocessable_entity);
  const auto error = body_of(missing).at("error");
  CHECK_MESSAGE(
      std::string(error.at("message").as_string()).find("output.credit_id") != std::string::npos,
      missing.body());
  CHECK(error.at("details").at(0).at("path") == "output.credit_id");

  CHECK(post(client, target, R"({"step": "welcome_credit", "output": {}})").result() ==
        status::conflict);  // it did not fail
  CHECK(post(client, target, R"({"outputs": {}})").result() == status::bad_request);
  CHECK(post(client, target, R"({"reason": "no output"})").result() == status::bad_request);
  CHECK(post(client, "/api/sagas/nope/skip", R"({"output": {}})").result() == status::not_found);
  CHECK(client.request(verb::get, target).result() == status::method_not_allowed);

  auto skipped =
      post(client, target, R"({"output": {"credit_id": "c-manual"}, "reason": "credited by hand"})",
           "alice-ops");
  REQUIRE_MESSAGE(skipped.result() == status::ok, skipped.body());
  CHECK(body_of(skipped).at("id") == json::value(id));
  const auto saga = saga_when(client, id, "completed");
  CHECK(saga.at("saga").at("status") == "completed");
  CHECK(saga.at("saga").at("steps").at("bonus") == json::parse(R"({"credit_id": "c-manual"})"));
  const auto skip = history_record(saga, "operator_skip");
  CHECK(skip.at("step") == "bonus");
  CHECK(skip.at("detail").at("actor") == "alice-ops");
  CHECK(skip.at("detail").at("reason") == "credited by hand");

  // Completed now: a second skip is refused by the saga's status.
  CHECK(post(client, target, R"({"output": {"credit_id": "c"}})").result() == status::conflict);
}

TEST_CASE("an edit over HTTP merges into the input, checks the contract, then retries") {
  AdminWorld world;
  Client client(world.endpoint());
  const auto id = parked_saga(client, "repair-http-edit");
  const auto target = "/api/sagas/" + id + "/edit";

  auto wrong = post(client, target, R"({"input": {"amount": "five"}})");
  CHECK(wrong.result() == status::unprocessable_entity);
  CHECK(body_of(wrong).at("error").at("details").at(0).at("path") == "input.amount");
  CHECK(post(client, target, R"({"input": {"amount": 5}, "mode": "patch"})").result() ==
        status::bad_request);
  CHECK(post(client, target, R"({"input": [1]})").result() == status::bad_request);
  CHECK(post(client, target, R"({"input": {}}, "retry": "yes")").result() == status::bad_request);
  CHECK(post(client, target, R"({"input": {}})", std::string(201, 'a')).result() ==
        status::bad_request);  // an actor of more than 200 bytes

  auto edited =
      post(client, target, R"({"input": {"amount": 5}, "reason": "amount was 0"})", "bob-ops");
  REQUIRE_MESSAGE(edited.result() == status::ok, edited.body());
  const auto saga = saga_when(client, id, "completed");
  CHECK_MESSAGE(saga.at("saga").at("status") == "completed", json::serialize(saga));
  CHECK(saga.at("saga").at("data").at("amount") == 5);
  CHECK(saga.at("saga").at("data").at("user") == "alice");
  const auto edit = history_record(saga, "operator_edit");
  CHECK(edit.at("detail").at("actor") == "bob-ops");
  CHECK(edit.at("detail").at("mode") == "merge");
  CHECK(edit.at("detail").at("input_before").at("amount") == 0);
  CHECK(history_record(saga, "operator_retry").at("version") == edit.at("version"));
}
