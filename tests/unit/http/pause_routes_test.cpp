// Pause and resume (a saga, a flow), the bulk actions with their dry run, and the audit log,
// through AdminApi over the real orchestrator (api_world.hpp).
#include <doctest/doctest.h>

#include "api_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

std::size_t published_of(const ApiWorld& w, std::string_view type, const std::string& saga) {
  std::size_t n = 0;
  for (const auto& m : w.transport.published) n += m.type == type && m.correlation_id == saga;
  return n;
}

Response call_as(ApiWorld& w, verb method, std::string target, std::string body, std::string actor,
                 std::string reason = {}) {
  auto req = ApiWorld::request(method, std::move(target), std::move(body));
  req.set("X-Sagaflow-Actor", actor);
  if (!reason.empty()) req.set("X-Sagaflow-Reason", reason);
  return w.settle(w.begin(req));
}

}  // namespace

TEST_CASE("a paused saga sends nothing, holds its reply, and goes on when resumed") {
  ApiWorld w;
  auto id = w.start(1);
  auto paused = w.call(verb::post, "/api/sagas/" + id + "/pause", R"({"reason": "look first"})");
  REQUIRE(paused.result() == status::ok);
  CHECK(body_of(paused).at("status") == "paused");
  CHECK(w.status_of(id) == "paused");

  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
  CHECK(published_of(w, "billing.charge", id) == 0);
  CHECK(w.status_of(id) == "paused");
  auto shown = body_of(w.call(verb::get, "/api/sagas/" + id));
  bool held = false;
  for (const auto& h : shown.at("history").as_array()) held |= h.at("kind") == "input_held";
  CHECK(held);

  CHECK(w.call(verb::post, "/api/sagas/" + id + "/pause").result() == status::conflict);
  auto resumed = w.call(verb::post, "/api/sagas/" + id + "/resume");
  REQUIRE(resumed.result() == status::ok);
  CHECK(body_of(resumed).at("status") == "running");
  CHECK(published_of(w, "billing.charge", id) == 1);
  CHECK(w.call(verb::post, "/api/sagas/" + id + "/resume").result() == status::conflict);
  CHECK(w.call(verb::post, "/api/sagas/nope/pause").result() == status::not_found);
  CHECK(w.call(verb::post, "/api/sagas/" + id + "/resume", R"({"x": 1})").result() ==
        status::bad_request);
  CHECK(w.call(verb::get, "/api/sagas/" + id + "/pause").result() == status::method_not_allowed);
}

TEST_CASE("a paused flow holds its new starts until it is resumed") {
  ApiWorld w;
  auto res = w.call(verb::post, "/api/flows/order/pause");
  REQUIRE(res.result() == status::ok);
  CHECK(body_of(res) == json::parse(R"({"flow": "order", "paused": true})"));
  CHECK(w.call(verb::post, "/api/flows/nope/pause").result() == status::not_found);

  auto id = w.start(4);
  CHECK(w.status_of(id) == "paused");
  CHECK(published_of(w, "stock.reserve", id) == 0);

  REQUIRE(w.call(verb::post, "/api/flows/order/resume").result() == status::ok);
  w.orchestrator.run_once(std::chrono::milliseconds(0));
  CHECK(w.status_of(id) == "running");
  CHECK(published_of(w, "stock.reserve", id) == 1);
}

TEST_CASE("bulk pause, resume and cancel act on the filter, and a dry run changes nothing") {
  ApiWorld w;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(w.start(i));
    w.clock.advance(std::chrono::seconds(1));
  }
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), ids[0]);  // reserve done

  auto dry = w.call(verb::post, "/api/sagas/cancel", R"({"flow": "order", "dry_run": true})");
  REQUIRE(dry.result() == status::ok);
  auto preview = body_of(dry);
  CHECK(preview.at("count") == 3);
  CHECK(preview.at("dry_run") == true);
  for (const auto& s : preview.at("sagas").as_array()) {
    const auto& compensations = s.at("compensations").as_array();
    if (s.at("id") == json::value(ids[0])) {
      REQUIRE(compensations.size() == 1);
      CHECK(compensations[0] ==
            json::parse(R"({"step": "reserve", "commands": ["stock.release"]})"));
    } else {
      CHECK(compensations.empty());
    }
  }
  for (const auto& id : ids) CHECK(w.status_of(id) == "running");

  auto paused =
      w.call(verb::post, "/api/sagas/pause", R"({"flow": "order", "reason": "incident"})");
  REQUIRE(paused.result() == status::ok);
  CHECK(body_of(paused).at("paused").as_array().size() == 3);
  for (const auto& id : ids) CHECK(w.status_of(id) == "paused");

  auto dry_resume = w.call(verb::post, "/api/sagas/resume", R"({"dry_run": true, "limit": 2})");
  CHECK(body_of(dry_resume).at("count") == 2);
  CHECK(w.call(verb::post, "/api/sagas/resume", R"({"status": "paused"})").result() ==
        status::bad_request);
  auto resumed = w.call(verb::post, "/api/sagas/resume", "{}");
  CHECK(body_of(resumed).at("resumed").as_array().size() == 3);

  auto cancelled = w.call(verb::post, "/api/sagas/cancel", R"({"status": "running"})");
  CHECK(body_of(cancelled).at("cancelled").as_array().size() == 3);
  // Each still has a command out: it compensates once that command has answered.
  for (const auto& id : ids) CHECK(w.status_of(id) == "compensating");
  auto again = w.call(verb::post, "/api/sagas/cancel", "{}");
  CHECK(body_of(again).at("cancelled").as_array().empty());
  CHECK(body_of(again).at("refused").as_array().size() == 3);
  CHECK(w.call(verb::post, "/api/sagas/pause", R"({"status": "bogus"})").result() ==
        status::bad_request);
  CHECK(w.call(verb::post, "/api/sagas/pause", R"({"dry_run": "yes"})").result() ==
        status::bad_request);
}

TEST_CASE("every mutating request is in the audit log with who, what, why and its result") {
  ApiWorld w;
  auto id = w.start(1);  // a start is the applications' traffic: not audited
  REQUIRE(
      call_as(w, verb::post, "/api/sagas/" + id + "/pause", R"({"reason": "check stock"})", "alice")
          .result() == status::ok);
  REQUIRE(call_as(w, verb::post, "/api/sagas/" + id + "/pause", "", "bob", "again").result() ==
          status::conflict);
  REQUIRE(w.call(verb::post, "/api/sagas/" + id + "/resume").result() == status::ok);
  w.call(verb::get, "/api/sagas/" + id);  // reads are not audited

  auto page = w.call(verb::get, "/api/audit?limit=2");
  REQUIRE(page.result() == status::ok);
  auto body = body_of(page);
  const auto& entries = body.at("entries").as_array();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("actor") == "anonymous");
  CHECK(entries[0].at("action") == json::value("POST /api/sagas/" + id + "/resume"));
  CHECK(entries[0].at("status") == 200);
  CHECK(entries[1].at("actor") == "bob");
  CHECK(entries[1].at("reason") == "again");
  CHECK(entries[1].at("status") == 409);
  REQUIRE(!body.at("next").is_null());

  auto older = body_of(w.call(
      verb::get, "/api/audit?limit=2&before=" + std::to_string(body.at("next").to_number<long>())));
  const auto& rest = older.at("entries").as_array();
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].at("actor") == "alice");
  CHECK(rest[0].at("reason") == "check stock");
  CHECK(rest[0].at("request") == R"({"reason": "check stock"})");
  CHECK(json::parse(rest[0].at("result").as_string()).at("status") == "paused");
  CHECK(older.at("next").is_null());
  CHECK(w.call(verb::get, "/api/audit?limit=0").result() == status::bad_request);
  CHECK(w.call(verb::post, "/api/audit").result() == status::method_not_allowed);
}

TEST_CASE("a request refused for its token is not audited") {
  ApiWorld w(AdminOptions{.token = "secret"});
  CHECK(w.call(verb::post, "/api/sagas/x/pause", "", "wrong").result() == status::unauthorized);
  auto page = body_of(w.call(verb::get, "/api/audit", "", "secret"));
  CHECK(page.at("entries").as_array().empty());
}

TEST_CASE("the metrics show the paused sagas by flow") {
  ApiWorld w;
  auto id = w.start(1);
  w.call(verb::post, "/api/sagas/" + id + "/pause");
  auto text = w.call(verb::get, "/metrics").body();
  CHECK(text.find("sagaflow_sagas_paused{flow=\"order\"} 1\n") != std::string::npos);
}

TEST_CASE("the flow list says whether each flow is paused") {
  ApiWorld w;
  auto paused_of_order = [&] {
    auto flows = body_of(w.call(verb::get, "/api/flows")).at("flows").as_array();
    REQUIRE(flows.size() == 1);
    CHECK(flows[0].at("name") == "order");
    return flows[0].at("paused");
  };
  CHECK(paused_of_order() == json::value(false));
  REQUIRE(w.call(verb::post, "/api/flows/order/pause").result() == status::ok);
  CHECK(paused_of_order() == json::value(true));
  REQUIRE(w.call(verb::post, "/api/flows/order/resume").result() == status::ok);
  CHECK(paused_of_order() == json::value(false));
}

TEST_CASE("the metrics count pauses by who paused and resumes, by flow") {
  ApiWorld w;
  auto text = [&] { return w.call(verb::get, "/metrics").body(); };
  auto id = w.start(1);
  REQUIRE(w.call(verb::post, "/api/sagas/" + id + "/pause").result() == status::ok);
  CHECK(text().find("sagaflow_saga_pauses_total{flow=\"order\",by=\"operator\"} 1\n") !=
        std::string::npos);
  CHECK(text().find("sagaflow_saga_pauses_total{flow=\"order\",by=\"flow\"} 0\n") !=
        std::string::npos);
  CHECK(text().find("sagaflow_saga_resumes_total{flow=\"order\"} 0\n") != std::string::npos);
  REQUIRE(w.call(verb::post, "/api/sagas/" + id + "/resume").result() == status::ok);
  CHECK(text().find("sagaflow_saga_resumes_total{flow=\"order\"} 1\n") != std::string::npos);

  // A start held by its paused flow counts as a pause by the flow; the flow's resume resumes it.
  REQUIRE(w.call(verb::post, "/api/flows/order/pause").result() == status::ok);
  auto held = w.start(2);
  REQUIRE(w.status_of(held) == "paused");
  CHECK(text().find("sagaflow_saga_pauses_total{flow=\"order\",by=\"flow\"} 1\n") !=
        std::string::npos);
  CHECK(text().find("sagaflow_sagas_paused{flow=\"order\"} 1\n") != std::string::npos);
  REQUIRE(w.call(verb::post, "/api/flows/order/resume").result() == status::ok);
  w.orchestrator.run_once(std::chrono::milliseconds(0));
  REQUIRE(w.status_of(held) == "running");
  CHECK(text().find("sagaflow_saga_resumes_total{flow=\"order\"} 2\n") != std::string::npos);
  CHECK(text().find("sagaflow_saga_pauses_total{flow=\"order\",by=\"operator\"} 1\n") !=
        std::string::npos);
  CHECK(text().find("# TYPE sagaflow_saga_pauses_total counter\n") != std::string::npos);
  CHECK(text().find("# TYPE sagaflow_saga_resumes_total counter\n") != std::string::npos);
}
