// The flow routes: list, one flow's text, lint, and deploy, which new sagas use at once while
// running sagas stay on the version they started with.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "api_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

Request yaml(verb method, std::string target, std::string_view body) {
  auto req = ApiWorld::request(method, std::move(target), std::string(body));
  req.set(field::content_type, "application/yaml");
  return req;
}

}  // namespace

TEST_CASE("GET /api/flows lists every flow with its versions, /api/flows/{name} gives its text") {
  ApiWorld w;
  w.flows.add(load(kOrderV2));
  w.store.save_flow_definition({"order", 2, std::string(kOrderV2), w.clock.now()});
  auto list = w.call(verb::get, "/api/flows");
  CHECK(list.result() == status::ok);
  CHECK(
      body_of(list) ==
      json::parse(R"({"flows": [{"name": "order", "latest": 2, "versions": [1, 2], "paused": false,
                   "input": {"fields": [{"name": "n", "type": "integer", "required": true}],
                             "additional_fields": false}}]})"));

  auto latest = w.call(verb::get, "/api/flows/order");
  CHECK(latest.result() == status::ok);
  CHECK(body_of(latest).at("version") == 2);
  CHECK(body_of(latest).at("source") == json::value(kOrderV2));
  auto first = w.call(verb::get, "/api/flows/order?version=1");
  CHECK(body_of(first).at("source") == json::value(kOrderV1));

  CHECK(w.call(verb::get, "/api/flows/order?version=3").result() == status::not_found);
  CHECK(w.call(verb::get, "/api/flows/nope").result() == status::not_found);
  CHECK(w.call(verb::get, "/api/flows/order?version=x").result() == status::bad_request);
  CHECK(w.call(verb::delete_, "/api/flows/order").result() == status::method_not_allowed);
}

TEST_CASE("POST /api/flows/lint reports every problem with its line and column") {
  ApiWorld w;
  auto clean = w.posted(yaml(verb::post, "/api/flows/lint", kOrderV2));
  CHECK(clean.result() == status::ok);
  // Valid, with two warnings (docs/flow-tooling.md): they never make `ok` false.
  const auto answer = body_of(clean);
  CHECK(answer.at("ok") == true);
  CHECK(answer.at("diagnostics") == json::array{});
  const auto& warnings = answer.at("warnings").as_array();
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].at("code") == "irreversible_before_failure");  // notify, before reserve
  CHECK(warnings[0].at("line") == 6);
  CHECK(warnings[0].at("column") == 5);
  CHECK(warnings[0].at("fix").is_string());
  CHECK(warnings[1].at("code") == "unread_output");  // reserve's `hold`
  CHECK(warnings[1].at("line") == 11);
  CHECK(warnings[1].at("column") == 15);

  auto broken = w.posted(yaml(verb::post, "/api/flows/lint",
                              "name: broken\nversion: 1\nsteps:\n  - name: a\n"
                              "    command: { service: s, name: c, input: {} }\n"
                              "    colour: blue\n"));
  CHECK(broken.result() == status::ok);
  auto body = body_of(broken).as_object();
  CHECK(body.at("ok") == false);
  const auto& diagnostics = body.at("diagnostics").as_array();
  REQUIRE_FALSE(diagnostics.empty());
  bool found = false;
  for (const auto& d : diagnostics) {
    CHECK(d.at("message").is_string());
    found = found || (d.at("line") == 6 && d.at("column") == 5);
  }
  CHECK(found);  // `colour` on line 6, column 5
}

TEST_CASE("POST /api/flows deploys: 201, 200 again with the same text, 409 with another") {
  ApiWorld w;
  auto res = w.posted(yaml(verb::post, "/api/flows", kOrderV2));
  CHECK(res.result() == status::created);
  // Deployed despite its warnings, which the answer lists.
  CHECK(body_of(res).at("name") == "order");
  CHECK(body_of(res).at("version") == 2);
  CHECK(body_of(res).at("warnings").as_array().size() == 2);
  CHECK(body_of(res).at("warnings").at(0).at("code") == "irreversible_before_failure");
  REQUIRE(w.flows.find("order", 2));
  CHECK(w.store.flow_definitions().size() == 2);

  CHECK(w.posted(yaml(verb::post, "/api/flows", kOrderV2)).result() == status::ok);

  std::string changed(kOrderV2);
  changed.replace(changed.find("mail"), 4, "post");
  auto conflict = w.posted(yaml(verb::post, "/api/flows", changed));
  CHECK(conflict.result() == status::conflict);
  CHECK(error_code(conflict) == "conflict");
}

TEST_CASE("POST /api/flows refuses a flow that fails lint with 422 and its diagnostics") {
  ApiWorld w;
  auto res = w.posted(yaml(verb::post, "/api/flows", "name: x\nversion: 1\nsteps: []\n"));
  CHECK(res.result() == status::unprocessable_entity);
  CHECK(error_code(res) == "invalid");
  CHECK_FALSE(body_of(res).at("error").at("details").as_array().empty());
  CHECK_FALSE(w.flows.find("x"));
}

TEST_CASE("a deployed version starts the new sagas while a running saga keeps its version") {
  ApiWorld w;
  auto old_saga = w.start(1);  // on version 1, waiting for stock.reserve
  REQUIRE(w.posted(yaml(verb::post, "/api/flows", kOrderV2)).result() == status::created);
  auto new_saga = w.start(2);
  CHECK(w.store.load(new_saga)->flow_version == 2);
  CHECK(w.command("mail.send").correlation_id == new_saga);  // version 2's first step

  // The old saga goes on with version 1's steps: no mail for it.
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), old_saga);
  w.answer("billing.charge", worker::Result::ok(), old_saga);
  w.answer("shipping.ship", worker::Result::ok(), old_saga);
  CHECK(w.status_of(old_saga) == "completed");
  CHECK(w.store.load(old_saga)->flow_version == 1);
  for (const auto& m : w.transport.published) {
    if (m.type == "mail.send") CHECK(m.correlation_id == new_saga);
  }
  auto shown = w.call(verb::get, "/api/sagas/" + old_saga);
  CHECK(body_of(shown).at("saga").at("flow_version") == 1);
}

TEST_CASE("a deploy the daemon refuses (say, a broker without the queues) answers 409") {
  sagaflow::testing::MemoryStore store;
  FlowRegistry flows;
  sagaflow::testing::FakeTransport transport;
  sagaflow::testing::ManualClock clock;
  Orchestrator orchestrator(flows, store, transport, clock);
  AdminBackendImpl backend(
      orchestrator, store, flows, clock,
      BackendHooks{.prepare_deploy = [](const Plan& plan) -> std::map<std::string, std::uint32_t> {
        throw DeployRefused("no queue for " + plan.services().front());
      }});
  AdminApi api(backend, {});
  auto res = posted_flow_answer(api.handle_request(yaml(verb::post, "/api/flows", kOrderV1)));
  CHECK(res.result() == status::conflict);
  CHECK(body_of(res).at("error").at("message") == "no queue for stock");
  CHECK(store.flow_definitions().empty());
  CHECK_FALSE(flows.find("order"));
}

TEST_CASE("at start the daemon registers the stored flows and stores the files' flows") {
  sagaflow::testing::MemoryStore store;
  sagaflow::testing::ManualClock clock;
  store.save_flow_definition({"order", 2, std::string(kOrderV2), clock.now()});
  FlowRegistry flows;
  CHECK(load_deployed_flows(store, flows).empty());
  CHECK(flows.find("order", 2));

  const auto dir = std::filesystem::temp_directory_path() / "sagaflow-http-flows";
  std::filesystem::create_directories(dir);
  const auto file = (dir / "order.yaml").string();
  std::ofstream(file) << kOrderV1;
  auto loaded = load_flow_file(file, store, flows, clock.now());
  REQUIRE(loaded.flow);
  CHECK(flows.find("order", 1));
  CHECK(store.flow_definitions().size() == 2);

  // The same version with another text: refused, so that running sagas keep their steps.
  std::string changed(kOrderV1);
  changed.replace(changed.find("billing"), 7, "invoice");
  std::ofstream(file) << changed;
  auto refused = load_flow_file(file, store, flows, clock.now());
  CHECK_FALSE(refused.flow);
  REQUIRE(refused.problem.messages.size() == 1);
  CHECK(refused.problem.messages[0].find("give the file a new version") != std::string::npos);
  std::filesystem::remove_all(dir);
}

// Sub-flows (docs/flow-language.md#subflow): a deploy refuses a child flow that is not deployed
// and a cycle, each at the step's `flow:` value; a parent's saga and its child link each other.
TEST_CASE("POST /api/flows refuses unknown child flows and cycles and GET /api/sagas/{id} links") {
  ApiWorld w;
  constexpr std::string_view parent = R"(name: parent
version: 1
steps:
  - name: child
    subflow:
      flow: leaf
      input: { n: 1 }
)";
  auto unknown = w.posted(yaml(verb::post, "/api/flows", parent));
  CHECK(unknown.result() == status::unprocessable_entity);
  const auto details = body_of(unknown).at("error").at("details").as_array();
  REQUIRE(details.size() == 1);
  CHECK(details[0].at("line") == 6);
  CHECK(details[0].at("column") == 13);
  CHECK(details[0].at("message") ==
        "subflow step 'child' starts flow 'leaf', which is not deployed; deploy it first");

  constexpr std::string_view leaf = R"(name: leaf
version: 1
steps:
  - name: note
    publish: { event: leaf.noted }
)";
  REQUIRE(w.posted(yaml(verb::post, "/api/flows", leaf)).result() == status::created);
  REQUIRE(w.posted(yaml(verb::post, "/api/flows", parent)).result() == status::created);
  constexpr std::string_view leaf_v2 = R"(name: leaf
version: 2
steps:
  - name: back
    subflow: { flow: parent }
)";
  auto cycle = w.posted(yaml(verb::post, "/api/flows", leaf_v2));
  CHECK(cycle.result() == status::unprocessable_entity);
  CHECK(body_of(cycle).at("error").at("details").at(0).at("message") ==
        "subflow step 'back' starts flow 'parent', which starts 'leaf' again (leaf -> parent -> "
        "leaf): sub-flows must not form a cycle");

  auto started = w.call(verb::post, "/api/sagas", R"({"flow": "parent", "input": {}})");
  REQUIRE(started.result_int() / 100 == 2);
  const std::string id(body_of(started).at("id").as_string());
  auto shown = body_of(w.call(verb::get, "/api/sagas/" + id)).at("saga");
  CHECK(shown.at("status") == "completed");
  CHECK(shown.at("parent").is_null());
  const auto& children = shown.at("children").as_array();
  REQUIRE(children.size() == 1);
  CHECK(children[0].at("step") == "child");
  const std::string child(children[0].at("id").as_string());
  auto child_shown = body_of(w.call(verb::get, "/api/sagas/" + child)).at("saga");
  CHECK(child_shown.at("flow") == "leaf");
  CHECK(child_shown.at("status") == "completed");
  CHECK(child_shown.at("parent") == json::parse(R"({"id": ")" + id + R"(", "step": "child"})"));
}
