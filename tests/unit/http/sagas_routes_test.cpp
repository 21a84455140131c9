// The saga routes of docs/admin-api.md, on the real orchestrator: start (with its waits and
// its idempotency), list with filters and paging, one saga with its history, retry, cancel,
// bulk retry and the counts.
#include <doctest/doctest.h>

#include <set>

#include "api_world.hpp"
#include "sagaflow/http/wire.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

std::string start_body(int n, json::object extra = {}) {
  json::object body{{"flow", "order"}, {"input", {{"n", n}}}};
  for (auto& [k, v] : extra) body[k] = v;
  return json::serialize(body);
}

}  // namespace

TEST_CASE("POST /api/sagas answers 201 with the new saga once its start is committed") {
  ApiWorld w;
  auto outcome = w.begin(ApiWorld::request(verb::post, "/api/sagas", start_body(1)));
  REQUIRE(std::holds_alternative<Pending>(outcome));
  CHECK_FALSE(std::get<Pending>(outcome).poll());  // nothing committed before the round
  auto res = w.settle(std::move(outcome));
  CHECK(res.result() == status::created);
  auto body = body_of(res).as_object();
  CHECK(body.at("created").as_bool());
  CHECK(body.at("status") == "running");
  CHECK(body.at("waited").is_null());
  CHECK(body.at("result").is_null());
  CHECK(w.status_of(std::string(body.at("id").as_string())) == "running");
}

TEST_CASE("a start that waits for a step answers 201 with the step's result once it is done") {
  ApiWorld w;
  auto outcome = w.begin(
      ApiWorld::request(verb::post, "/api/sagas",
                        start_body(7, {{"wait", {{"step", "reserve"}}}, {"timeout_ms", 5000}})));
  auto& pending = std::get<Pending>(outcome);
  CHECK(pending.timeout() == 5000ms);
  w.orchestrator.run_once(0ms);
  CHECK_FALSE(pending.poll());  // started, reserve not answered
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h-7"}}));
  auto res = pending.poll();
  REQUIRE(res);
  CHECK(res->result() == status::created);
  auto body = body_of(*res).as_object();
  CHECK(body.at("waited") == "step");
  CHECK(body.at("result") == json::parse(R"({"hold":"h-7"})"));
  CHECK(body.at("status") == "running");
}

TEST_CASE("a start that waits for the end answers once the saga finished") {
  ApiWorld w;
  std::size_t answered = 0;  // every command published is answered in the next round
  auto answer_all = [&] {
    while (answered < w.transport.published.size()) {
      w.transport.deliver(worker::make_reply(w.transport.published[answered++],
                                             worker::Result::ok({{"hold", "h"}})));
    }
  };
  auto res = w.settle(w.begin(ApiWorld::request(verb::post, "/api/sagas",
                                                start_body(3, {{"wait", {{"end", true}}}}))),
                      answer_all);
  CHECK(res.result() == status::created);
  auto body = body_of(res).as_object();
  CHECK(body.at("waited") == "end");
  CHECK(body.at("status") == "completed");
}

TEST_CASE("a start whose wait times out answers 202 with the saga, which keeps running") {
  ApiWorld w;
  auto res = w.settle(w.begin(ApiWorld::request(
                          verb::post, "/api/sagas",
                          start_body(1, {{"wait", {{"step", "charge"}}}, {"timeout_ms", 60000}}))),
                      {}, 3);
  CHECK(res.result() == status::accepted);
  auto body = body_of(res).as_object();
  CHECK(body.at("created").as_bool());
  CHECK(body.at("waited").is_null());
  CHECK(body.at("status") == "running");
  CHECK(w.status_of(std::string(body.at("id").as_string())) == "running");
}

TEST_CASE("wait is capped at 30 s and defaults to 10 s") {
  ApiWorld w;
  auto capped = w.begin(
      ApiWorld::request(verb::post, "/api/sagas",
                        start_body(1, {{"wait", {{"step", "reserve"}}}, {"timeout_ms", 600000}})));
  CHECK(std::get<Pending>(capped).timeout() == 30000ms);
  auto fallback = w.begin(
      ApiWorld::request(verb::post, "/api/sagas", start_body(2, {{"wait", {{"end", true}}}})));
  CHECK(std::get<Pending>(fallback).timeout() == 10000ms);
}

TEST_CASE("a start waiting for a step the saga can no longer reach answers at once") {
  ApiWorld w;
  auto outcome = w.begin(
      ApiWorld::request(verb::post, "/api/sagas", start_body(1, {{"wait", {{"step", "charge"}}}})));
  auto& pending = std::get<Pending>(outcome);
  w.orchestrator.run_once(0ms);
  w.answer("stock.reserve", worker::Result::business_failure("OutOfStock"));
  auto res = pending.poll();
  REQUIRE(res);
  CHECK(res->result() == status::created);
  auto body = body_of(*res).as_object();
  CHECK(body.at("waited").is_null());
  CHECK(body.at("status") != "running");
}

TEST_CASE("an idempotency key already used answers 200 with the first saga, never a second") {
  ApiWorld w;
  auto first = w.start(1, "order-42");
  auto again = w.call(verb::post, "/api/sagas", start_body(1, {{"idempotency_key", "order-42"}}));
  CHECK(again.result() == status::ok);
  CHECK(body_of(again).at("created") == false);
  CHECK(body_of(again).at("id") == json::value(first));
  CHECK(w.store.list(SagaFilter{}).size() == 1);
}

TEST_CASE("a start's traceparent is carried into its commands, without one a trace begins") {
  ApiWorld w;
  const std::string trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto req = ApiWorld::request(verb::post, "/api/sagas", start_body(1));
  req.set("traceparent", trace);
  w.settle(w.begin(req));
  CHECK(w.command("stock.reserve").traceparent == trace);

  w.settle(w.begin(ApiWorld::request(verb::post, "/api/sagas", start_body(2))));
  const auto generated = w.command("stock.reserve").traceparent;
  CHECK(valid_traceparent(generated));
  CHECK(generated != trace);

  auto bad = ApiWorld::request(verb::post, "/api/sagas", start_body(3));
  bad.set("traceparent", "not-a-trace");
  w.settle(w.begin(bad));
  CHECK(valid_traceparent(w.command("stock.reserve").traceparent));
}

TEST_CASE("every command and compensation of a saga carries its start's traceparent") {
  ApiWorld w;
  const std::string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  auto req = ApiWorld::request(verb::post, "/api/sagas", start_body(1));
  req.set("traceparent", trace);
  const auto id = std::string(body_of(w.settle(w.begin(req))).at("id").as_string());
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
  w.answer("billing.charge", worker::Result::business_failure("CardDeclined"), id);
  w.answer("stock.release", worker::Result::ok(), id);
  REQUIRE(w.status_of(id) == "compensated");
  std::set<std::string> types;
  for (const auto& m : w.transport.published) {
    if (m.correlation_id != id) continue;
    types.insert(m.type);
    CHECK(m.traceparent == trace);
  }
  CHECK(types == std::set<std::string>{"stock.reserve", "billing.charge", "stock.release"});
  // A participant's reply carries it back (worker::make_reply copies it).
  CHECK(worker::make_reply(w.command("stock.release"), worker::Result::ok()).traceparent == trace);
}

TEST_CASE("POST /api/sagas refuses what it cannot start, each with its status and code") {
  ApiWorld w;
  auto unknown = w.call(verb::post, "/api/sagas", R"({"flow": "nope", "input": {}})");
  CHECK(unknown.result() == status::not_found);
  CHECK(error_code(unknown) == "not_found");

  auto old = w.call(verb::post, "/api/sagas", R"({"flow": "order", "version": 9, "input": {}})");
  CHECK(old.result() == status::not_found);

  auto invalid = w.call(verb::post, "/api/sagas", R"({"flow": "order", "input": {"n": "x"}})");
  CHECK(invalid.result() == status::unprocessable_entity);
  CHECK(error_code(invalid) == "invalid");
  CHECK(body_of(invalid).at("error").at("details").as_array().size() == 1);

  // A typo: every problem listed with its path, the saga not started.
  auto typo = w.call(verb::post, "/api/sagas", R"({"flow": "order", "input": {"m": 1, "n": "3"}})");
  CHECK(typo.result() == status::unprocessable_entity);
  CHECK(body_of(typo).at("error") == json::parse(R"J({"code": "invalid",
          "message": "the input does not satisfy the flow's input contract: 2 problems",
          "details": [
            {"path": "input.n", "message": "input.n: expected an integer, got the string \"3\""},
            {"path": "input.m", "message": "input.m: unknown field (expected fields: n)"}]})J"));
  CHECK(w.store.list(SagaFilter{}).empty());

  for (const char* bad : {R"({"flow": "order", "input": {}, "colour": 1})", R"({"input": {}})",
                          R"([1, 2])", R"({"flow": "order", "wait": {"step": "nope"}})",
                          R"({"flow": "order", "wait": {"end": false}})",
                          R"({"flow": "order", "wait": {"step": "reserve"}, "timeout_ms": 0})",
                          R"({"flow": "order", "version": -1})", R"({"flow": 1})", "{", ""}) {
    CAPTURE(bad);
    auto res = w.call(verb::post, "/api/sagas", bad);
    CHECK(res.result() == status::bad_request);
    CHECK(error_code(res) == "bad_request");
  }
}

TEST_CASE("GET /api/sagas lists newest first and pages with its cursor") {
  ApiWorld w;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(w.start(i));
    w.clock.advance(1s);
  }
  std::vector<std::string> seen;
  std::string target = "/api/sagas?limit=2";
  int pages = 0;
  for (;;) {
    auto res = w.call(verb::get, target);
    REQUIRE(res.result() == status::ok);
    auto body = body_of(res).as_object();
    for (const auto& s : body.at("sagas").as_array()) {
      seen.emplace_back(s.at("id").as_string());
      CHECK(s.at("flow") == "order");
      CHECK(s.at("flow_version") == 1);
      CHECK(s.at("key").is_null());
      CHECK(parse_time(s.at("created_at").as_string()));
    }
    ++pages;
    if (body.at("next").is_null()) break;
    target = "/api/sagas?limit=2&after=" + std::string(body.at("next").as_string());
  }
  CHECK(pages == 3);
  CHECK(seen == std::vector<std::string>(ids.rbegin(), ids.rend()));
}

TEST_CASE("GET /api/sagas filters by flow, status, key and creation time") {
  ApiWorld w;
  const auto t0 = w.clock.now();
  auto done = w.complete(1);
  w.clock.advance(10s);
  auto keyed = w.start(2, "order-2");
  auto ids = [&](const std::string& query) {
    std::set<std::string> out;
    auto res = w.call(verb::get, "/api/sagas" + query);
    REQUIRE(res.result() == status::ok);
    const auto body = body_of(res);
    for (const auto& s : body.at("sagas").as_array()) out.emplace(s.at("id").as_string());
    return out;
  };
  CHECK(ids("?status=completed") == std::set{done});
  CHECK(ids("?status=running") == std::set{keyed});
  CHECK(ids("?key=order-2") == std::set{keyed});
  CHECK(ids("?flow=order").size() == 2);
  CHECK(ids("?flow=other").empty());
  const auto mid = format_time(t0 + 5s);
  CHECK(ids("?from=" + mid) == std::set{keyed});
  CHECK(ids("?to=" + mid) == std::set{done});
  CHECK(ids("?from=" + format_time(t0) + "&to=" + format_time(t0 + 1h)).size() == 2);
}

TEST_CASE("GET /api/sagas refuses a bad parameter with 400") {
  ApiWorld w;
  for (const char* query :
       {"?limit=0", "?limit=501", "?limit=x", "?status=lost", "?from=yesterday",
        "?to=2026-13-01T00:00:00Z", "?after=!!", "?colour=blue", "?flow=a&flow=b", "?key=%zz"}) {
    CAPTURE(query);
    auto res = w.call(verb::get, std::string("/api/sagas") + query);
    CHECK(res.result() == status::bad_request);
    CHECK(error_code(res) == "bad_request");
  }
}

TEST_CASE("GET /api/sagas/{id} gives the saga with its data, steps and history") {
  ApiWorld w;
  auto id = w.complete(5);
  auto res = w.call(verb::get, "/api/sagas/" + id);
  REQUIRE(res.result() == status::ok);
  auto body = body_of(res).as_object();
  const auto& saga = body.at("saga").as_object();
  CHECK(saga.at("id") == json::value(id));
  CHECK(saga.at("status") == "completed");
  CHECK(saga.at("data") == json::parse(R"({"n":5})"));
  CHECK(saga.at("steps").at("reserve") == json::parse(R"({"hold":"h-5"})"));
  const auto& history = body.at("history").as_array();
  REQUIRE(history.size() >= 7);
  CHECK(history.front().at("kind") == "saga_started");
  CHECK(history.back().at("kind") == "saga_completed");
  bool sent = false;
  for (const auto& h : history) {
    CHECK(h.at("detail").is_object());  // parsed, not a string
    if (h.at("kind") == "command_sent" && h.at("step") == "reserve") {
      sent = true;
      CHECK(h.at("detail").at("type") == "stock.reserve");
      CHECK(h.at("detail").at("message_id").is_string());
    }
  }
  CHECK(sent);

  // Ended: nothing in flight, no operator request applies.
  CHECK(saga.at("in_flight") == json::array{});
  CHECK(saga.at("actions") == json::parse(R"({"retry": false, "cancel": false})"));

  auto missing = w.call(verb::get, "/api/sagas/nope");
  CHECK(missing.result() == status::not_found);
  CHECK(error_code(missing) == "not_found");
}

TEST_CASE("GET /api/sagas/{id} shows the steps in flight and the requests that apply") {
  ApiWorld w;
  auto id = w.start(2);
  auto saga = body_of(w.call(verb::get, "/api/sagas/" + id)).at("saga").as_object();
  REQUIRE(saga.at("status") == "running");
  const auto& in_flight = saga.at("in_flight").as_array();
  REQUIRE(in_flight.size() == 1);
  CHECK(in_flight[0] == json::parse(R"({"step": "reserve", "phase": "awaiting_reply",
      "command": "stock.reserve", "attempt": 1, "next_attempt_at": null})"));
  CHECK(saga.at("actions") == json::parse(R"({"retry": false, "cancel": true})"));
}

TEST_CASE("GET /api/sagas gives each saga's failure, null when it has none") {
  ApiWorld w;
  w.flows.add(load(kOrderV2));
  auto failed = w.start(3);
  w.answer("mail.send", worker::Result::ok(), failed);
  w.answer("stock.reserve", worker::Result::business_failure("OutOfStock"), failed);
  REQUIRE(w.status_of(failed) == "compensated");
  auto running = w.start(4);
  auto list = body_of(w.call(verb::get, "/api/sagas")).at("sagas").as_array();
  REQUIRE(list.size() == 2);
  for (const auto& saga : list) {
    if (saga.at("id") == json::value(failed)) {
      CHECK(saga.at("failure").as_string().find("OutOfStock") != json::string::npos);
    } else {
      CHECK(saga.at("id") == json::value(running));
      CHECK(saga.at("failure").is_null());
    }
  }
}

TEST_CASE("GET /api/sagas/{id} lists the effects a compensated saga left standing") {
  ApiWorld w;
  w.flows.add(load(kOrderV2));  // notify (irreversible) comes before reserve, which fails
  auto id = w.start(3);
  w.answer("mail.send", worker::Result::ok(), id);
  w.answer("stock.reserve", worker::Result::business_failure("OutOfStock"), id);
  REQUIRE(w.status_of(id) == "compensated");
  auto body = body_of(w.call(verb::get, "/api/sagas/" + id)).as_object();
  const auto& saga = body.at("saga").as_object();
  CHECK(saga.at("status") == "compensated");
  const auto& effects = saga.at("effects_left_standing").as_array();
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].at("step") == "notify");
  CHECK(effects[0].at("reason") ==
        "irreversible step completed: it has no compensation, its effect stands");
  // The history keeps the failure's reason and the same list.
  const auto& last = body.at("history").as_array().back();
  CHECK(last.at("kind") == "saga_compensated");
  CHECK(last.at("detail").at("reason").as_string().find("OutOfStock") != json::string::npos);
  CHECK(last.at("detail").at("effects_left_standing") == effects);

  // A saga that completed has nothing standing to report.
  ApiWorld v1;
  auto done = v1.complete(4);
  auto completed = body_of(v1.call(verb::get, "/api/sagas/" + done)).as_object();
  CHECK(completed.at("saga").at("effects_left_standing") == json::array{});
}

TEST_CASE("retry answers 200 for a parked saga and 409 when its status does not allow it") {
  ApiWorld w;
  auto id = w.start(1);
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
  w.answer("billing.charge", worker::Result::ok(), id);
  w.answer("shipping.ship", worker::Result::business_failure("NoCourier"), id);
  REQUIRE(w.status_of(id) == "failed");  // past the pivot: parked

  auto running = w.start(2);
  auto refused = w.call(verb::post, "/api/sagas/" + running + "/retry");
  CHECK(refused.result() == status::conflict);
  CHECK(error_code(refused) == "conflict");

  auto res = w.call(verb::post, "/api/sagas/" + id + "/retry");
  CHECK(res.result() == status::ok);
  CHECK(body_of(res) == json::parse(R"({"id":")" + id + R"(","status":"running"})"));
  w.answer("shipping.ship", worker::Result::ok(), id);
  CHECK(w.status_of(id) == "completed");

  CHECK(w.call(verb::post, "/api/sagas/nope/retry").result() == status::not_found);
  CHECK(w.call(verb::post, "/api/sagas/" + id + "/retry", R"({"x":1})").result() ==
        status::bad_request);
}

TEST_CASE("cancel answers 200 for a running saga and 409 for a finished one") {
  ApiWorld w;
  auto id = w.start(1);
  auto res = w.call(verb::post, "/api/sagas/" + id + "/cancel", R"({"reason": "customer asked"})");
  CHECK(res.result() == status::ok);
  CHECK(body_of(res).at("status") == "compensating");
  bool recorded = false;
  for (const auto& h : w.store.history(id)) {
    recorded = recorded || (h.kind == "saga_cancel_requested" &&
                            json::parse(h.detail).at("reason") == "customer asked");
  }
  CHECK(recorded);

  auto done = w.complete(2);
  auto refused = w.call(verb::post, "/api/sagas/" + done + "/cancel");
  CHECK(refused.result() == status::conflict);
  CHECK(error_code(refused) == "conflict");
  CHECK(w.call(verb::get, "/api/sagas/" + id + "/cancel").result() == status::method_not_allowed);
}

TEST_CASE("POST /api/sagas/retry retries the failed sagas the filter selects") {
  ApiWorld w;
  std::vector<std::string> parked;
  for (int i = 0; i < 3; ++i) {
    auto id = w.start(i);
    w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
    w.answer("billing.charge", worker::Result::ok(), id);
    w.answer("shipping.ship", worker::Result::business_failure("NoCourier"), id);
    REQUIRE(w.status_of(id) == "failed");
    parked.push_back(id);
    w.clock.advance(1s);  // newest first: the first parked is the last retried
  }
  w.start(9);  // running: never selected

  auto two = w.call(verb::post, "/api/sagas/retry", R"({"flow": "order", "limit": 2})");
  CHECK(two.result() == status::ok);
  CHECK(body_of(two).at("retried").as_array().size() == 2);
  CHECK(body_of(two).at("refused").as_array().empty());
  auto rest = w.call(verb::post, "/api/sagas/retry", "");
  const auto retried = body_of(rest).at("retried").as_array();
  REQUIRE(retried.size() == 1);
  CHECK(retried[0] == json::value(parked.front()));  // the oldest, left by the first page
  for (const auto& id : parked) CHECK(w.status_of(id) == "running");

  CHECK(w.call(verb::post, "/api/sagas/retry", R"({"status": "running"})").result() ==
        status::bad_request);
  CHECK(w.call(verb::post, "/api/sagas/retry", R"({"limit": 1001})").result() ==
        status::bad_request);
  CHECK(w.call(verb::get, "/api/sagas/retry").result() == status::method_not_allowed);
}

TEST_CASE("GET /api/counts counts sagas by flow and status") {
  ApiWorld w;
  w.complete(1);
  w.start(2);
  w.start(3);
  auto res = w.call(verb::get, "/api/counts");
  CHECK(res.result() == status::ok);
  CHECK(body_of(res) == json::parse(R"({"counts": [
      {"flow": "order", "status": "completed", "count": 1},
      {"flow": "order", "status": "running", "count": 2}]})"));
}
