// sagactl's admin commands against a fake admin endpoint (fake_admin.hpp): the requests they
// send (method, path, query, auth header, body), what they print, and their exit codes for
// each kind of answer. docs/admin-api.md is the contract both sides follow.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <boost/json.hpp>

#include "command.hpp"
#include "fake_admin.hpp"
#include "support/run_sagactl.hpp"

using sagaflow::testing::CannedResponse;
using sagaflow::testing::FakeAdmin;
using sagaflow::testing::run_sagactl;
using sagaflow::testing::SagactlRun;
namespace json = boost::json;

namespace {

constexpr const char* kToken = "s3cret-token";

struct Client {
  FakeAdmin admin;
  // Runs `sagactl ARGS... --url <fake>` with the token in the environment.
  SagactlRun run(std::vector<std::string> args, bool with_token = true) {
    args.push_back("--url");
    args.push_back(admin.url());
    std::map<std::string, std::string> env;
    if (with_token) env["SAGAFLOW_ADMIN_TOKEN"] = kToken;
    auto result = run_sagactl(std::move(args), env);
    CHECK(result.out.find(kToken) == std::string::npos);  // the token is never printed
    CHECK(result.err.find(kToken) == std::string::npos);
    return result;
  }
};

std::string error_body(const std::string& code, const std::string& message) {
  return json::serialize(json::object{{"error", {{"code", code}, {"message", message}}}});
}

// A file in the build tree that goes away with the test.
struct TempFile {
  explicit TempFile(const std::string& name, const std::string& text)
      : path(std::filesystem::temp_directory_path() /
             ("sagactl-test-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

const char* kSagaList = R"({"sagas": [
  {"id": "7f3a", "flow": "offer_purchase", "flow_version": 1, "status": "completed",
   "version": 9, "key": "order-42", "created_at": "2026-11-23T10:00:00.000Z",
   "updated_at": "2026-11-23T10:00:00.120Z"},
  {"id": "1e0251f8-long", "flow": "order_payment", "flow_version": 2, "status": "compensated",
   "version": 12, "key": null, "created_at": "2026-11-23T09:59:00.000Z",
   "updated_at": "2026-11-23T09:59:01.000Z"}], "next": "c2"})";

}  // namespace

// --- auth ------------------------------------------------------------------------------------

TEST_CASE("sagactl sends the token from SAGAFLOW_ADMIN_TOKEN as a bearer token") {
  Client c;
  c.admin.on("GET", "/api/flows", {200, R"({"flows": []})"});
  auto r = c.run({"flows"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().authorization == std::string("Bearer ") + kToken);
}

TEST_CASE("--token-file wins over the environment and loses its trailing newline") {
  Client c;
  c.admin.on("GET", "/api/flows", {200, R"({"flows": []})"});
  TempFile token("token", "from-file\n");
  auto r = c.run({"flows", "--token-file", token.path.string()});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().authorization == "Bearer from-file");
}

TEST_CASE("without a token no Authorization header is sent, and a 401 says how to give one") {
  Client c;
  c.admin.on("GET", "/api/flows", {401, error_body("unauthorized", "a bearer token is needed")});
  auto r = c.run({"flows"}, false);
  CHECK(c.admin.last().authorization.empty());
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("refused the request (HTTP 401)") != std::string::npos);
  CHECK(r.err.find("--token-file") != std::string::npos);
}

TEST_CASE("a refused token exits 4") {
  Client c;
  c.admin.on("GET", "/api/sagas/abc", {401, error_body("unauthorized", "bad token")});
  auto r = c.run({"show", "abc"});
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("unauthorized: bad token") != std::string::npos);
}

// --- flows -----------------------------------------------------------------------------------

TEST_CASE("flows prints an aligned table of the deployed flows, with whether each is paused") {
  Client c;
  c.admin.on("GET", "/api/flows", {200, R"({"flows": [
               {"name": "offer_purchase", "latest": 2, "versions": [1, 2], "paused": true},
               {"name": "points_charge", "latest": 1, "versions": [1], "paused": false},
               {"name": "unknown_state", "latest": 1, "versions": [1], "paused": null},
               {"name": "older_daemon", "latest": 3, "versions": [3]}]})"});
  auto r = c.run({"flows"});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().method == "GET");
  CHECK(c.admin.last().target == "/api/flows");
  CHECK(r.out ==
        "FLOW            LATEST  VERSIONS  PAUSED\n"
        "offer_purchase  2       1, 2      yes\n"
        "points_charge   1       1         no\n"
        "unknown_state   1       1         -\n"
        "older_daemon    3       3         -\n");
}

TEST_CASE("--json prints the server's document as it came") {
  Client c;
  const std::string body = R"({"flows":[{"name":"x","latest":1,"versions":[1]}],  "extra": true})";
  c.admin.on("GET", "/api/flows", {200, body});
  auto r = c.run({"flows", "--json"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(r.out == body + "\n");
}

TEST_CASE("the URL may carry a path prefix, and SAGAFLOW_ADMIN_URL is the default URL") {
  FakeAdmin admin;
  admin.on("GET", "/admin/api/flows", {200, R"({"flows": []})"});
  auto r = run_sagactl({"flows"}, {{"SAGAFLOW_ADMIN_URL", admin.url() + "/admin/"}});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(admin.last().target == "/admin/api/flows");
  CHECK(r.out == "no flows deployed\n");
}

// --- list ------------------------------------------------------------------------------------

TEST_CASE("list sends its filters as an encoded query and prints a table") {
  Client c;
  c.admin.on("GET", "/api/sagas", {200, kSagaList});
  auto r = c.run({"list", "--flow", "offer_purchase", "--status", "completed", "--key",
                  "order 42&x", "--from", "2026-11-23T00:00:00.000+01:00", "--to",
                  "2026-11-24T00:00:00.000Z", "--limit", "2", "--after", "c1"});
  REQUIRE(r.status == sagactl::kExitOk);
  const auto request = c.admin.last();
  CHECK(request.method == "GET");
  CHECK(request.path == "/api/sagas");
  CHECK(request.query ==
        "flow=offer_purchase&status=completed&key=order%2042%26x"
        "&from=2026-11-23T00%3A00%3A00.000%2B01%3A00&to=2026-11-24T00%3A00%3A00.000Z&limit=2"
        "&after=c1");
  CHECK(r.out ==
        "ID             FLOW               STATUS       KEY       CREATED                   "
        "UPDATED\n"
        "7f3a           offer_purchase v1  completed    order-42  2026-11-23T10:00:00.000Z  "
        "2026-11-23T10:00:00.120Z\n"
        "1e0251f8-long  order_payment v2   compensated  -         2026-11-23T09:59:00.000Z  "
        "2026-11-23T09:59:01.000Z\n");
  CHECK(r.err == "more sagas: repeat with --after c2 (or --all)\n");
}

TEST_CASE("list without filters sends no query") {
  Client c;
  c.admin.on("GET", "/api/sagas", {200, R"({"sagas": [], "next": null})"});
  auto r = c.run({"list"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().target == "/api/sagas");
  CHECK(r.out == "no sagas\n");
  CHECK(r.err.empty());
}

TEST_CASE("list --all follows the cursor to the last page, with --json it prints one document") {
  Client c;
  c.admin.on("GET", "/api/sagas", {200, R"({"sagas": [{"id": "a"}], "next": "p2"})"});
  c.admin.on("GET", "/api/sagas", {200, R"({"sagas": [{"id": "b"}], "next": "p3"})"});
  c.admin.on("GET", "/api/sagas", {200, R"({"sagas": [{"id": "c"}], "next": null})"});
  auto r = c.run({"list", "--all", "--flow", "f", "--json"});
  REQUIRE(r.status == sagactl::kExitOk);
  const auto requests = c.admin.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].query == "flow=f&limit=500");
  CHECK(requests[1].query == "flow=f&limit=500&after=p2");
  CHECK(requests[2].query == "flow=f&limit=500&after=p3");
  auto doc = json::parse(r.out);
  CHECK(doc.at("sagas").as_array().size() == 3);
  CHECK(doc.at("sagas").at(2).at("id") == "c");
  CHECK(doc.at("next").is_null());
}

TEST_CASE("a filter the server refuses (400) is a usage error") {
  Client c;
  c.admin.on("GET", "/api/sagas", {400, error_body("bad_request", "from: not an RFC 3339 time")});
  auto r = c.run({"list", "--from", "yesterday"});
  CHECK(r.status == sagactl::kExitUsage);
  CHECK(r.err.find("bad_request: from: not an RFC 3339 time (HTTP 400)") != std::string::npos);
}

// --- show ------------------------------------------------------------------------------------

TEST_CASE("show prints the saga and its history as a timeline") {
  Client c;
  c.admin.on("GET", "/api/sagas/7f3a", {200, R"({
    "saga": {"id": "7f3a", "flow": "offer_purchase", "flow_version": 1, "status": "compensated",
             "version": 5, "key": "order-42", "created_at": "2026-11-23T10:00:00.000Z",
             "updated_at": "2026-11-23T10:00:01.250Z", "data": {"secret": "in json only"},
             "steps": {"create_order": {"order_id": "o-1"}}},
    "history": [
      {"at": "2026-11-23T10:00:00.000Z", "version": 1, "kind": "saga_started", "step": null,
       "detail": {}},
      {"at": "2026-11-23T10:00:00.004Z", "version": 2, "kind": "command_sent",
       "step": "create_order", "detail": {"message_id": "7f3a/create_order/do/1",
       "type": "offers.create_order", "service": "offers", "attempt": 1,
       "payload": {"user_id": "ann"}}},
      {"at": "2026-11-23T10:00:01.250Z", "version": 5, "kind": "saga_compensated",
       "step": null, "detail": {"reason": "points.reserve: InsufficientPoints"}}]})"});
  auto r = c.run({"show", "7f3a"});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().target == "/api/sagas/7f3a");
  CHECK(r.out ==
        "saga     7f3a\n"
        "flow     offer_purchase v1\n"
        "status   compensated\n"
        "key      order-42\n"
        "created  2026-11-23T10:00:00.000Z\n"
        "updated  2026-11-23T10:00:01.250Z\n"
        "version  5\n"
        "\n"
        "steps:\n"
        "  create_order  {\"order_id\":\"o-1\"}\n"
        "\n"
        "history:\n"
        "  AT                        SINCE     VER  KIND              STEP          DETAIL\n"
        "  2026-11-23T10:00:00.000Z  +0ms      v1   saga_started\n"
        "  2026-11-23T10:00:00.004Z  +4ms      v2   command_sent      create_order  "
        "type=offers.create_order service=offers attempt=1 {\"user_id\":\"ann\"}\n"
        "  2026-11-23T10:00:01.250Z  +1s250ms  v5   saga_compensated                "
        "reason=points.reserve: InsufficientPoints\n");
}

TEST_CASE("show prints a delayed start's start_at after its status") {
  Client c;
  c.admin.on("GET", "/api/sagas/d1", {200, R"({
    "saga": {"id": "d1", "flow": "pay", "flow_version": 2, "status": "pending", "version": 1,
             "key": null, "created_at": "2026-11-23T10:00:00.000Z",
             "updated_at": "2026-11-23T10:00:00.000Z", "start_at": "2026-12-24T18:00:00.000Z",
             "steps": {}},
    "history": []})"});
  auto r = c.run({"show", "d1"});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(r.out.rfind("saga      d1\n"
                    "flow      pay v2\n"
                    "status    pending\n"
                    "start at  2026-12-24T18:00:00.000Z\n"
                    "key       -\n",
                    0) == 0);
}

TEST_CASE("show prints a saga's sub-flow links: its parent and its children") {
  Client c;
  c.admin.on("GET", "/api/sagas/p1.pay~2", {200, R"({
    "saga": {"id": "p1.pay~2", "flow": "pay", "flow_version": 1, "status": "completed",
             "version": 4, "key": null, "created_at": "2026-11-23T10:00:00.000Z",
             "updated_at": "2026-11-23T10:00:01.000Z", "steps": {},
             "parent": {"id": "p1", "step": "pay"},
             "children": [{"step": "fee", "id": "p1.pay~2.fee~0"}]},
    "history": []})"});
  auto r = c.run({"show", "p1.pay~2"});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(r.out.find("\nparent:\n  pay  p1\n") != std::string::npos);
  CHECK(r.out.find("\nchildren:\n  fee  p1.pay~2.fee~0\n") != std::string::npos);
}

TEST_CASE("show encodes the id into the path, and an unknown saga exits 3") {
  Client c;
  c.admin.on("GET", "/api/sagas/a%2Fb%20c", {404, error_body("not_found", "no saga 'a/b c'")});
  c.admin.on("GET", "/api/sagas", {400, error_body("bad_request", "id_prefix must be ...")});
  auto r = c.run({"show", "a/b c"});
  REQUIRE(c.admin.requests().size() == 2);
  CHECK(c.admin.requests()[0].target == "/api/sagas/a%2Fb%20c");
  // Then as the beginning of an id, which the server refuses to be: the saga is unknown.
  CHECK(c.admin.requests()[1].target == "/api/sagas?id_prefix=a%2Fb%20c&limit=11");
  CHECK(r.status == sagactl::kExitNotFound);
  CHECK(r.err == "sagactl show: not_found: no saga 'a/b c' (HTTP 404)\n");
}

TEST_CASE("with --json an error answer is printed as it came, and the exit code still says") {
  Client c;
  const std::string body = error_body("not_found", "no saga 'x'");
  c.admin.on("GET", "/api/sagas/x", {404, body});
  auto r = c.run({"show", "x", "--json"});
  CHECK(r.status == sagactl::kExitNotFound);
  CHECK(r.out == body + "\n");
}

// --- start -----------------------------------------------------------------------------------

TEST_CASE("start posts the flow, input, key, version, wait and timeout") {
  Client c;
  c.admin.on("POST", "/api/sagas",
             {201, R"({"id": "s-1", "created": true, "status": "running", "waited": "step",
                       "result": {"user_id": "u1"}})"});
  auto r =
      c.run({"start", "user_registration", "--input", R"({"user_id": "u1"})", "--key", "reg-u1",
             "--flow-version", "2", "--wait-step", "create_user", "--timeout", "5000"});
  REQUIRE(r.status == sagactl::kExitOk);
  const auto request = c.admin.last();
  CHECK(request.method == "POST");
  CHECK(request.target == "/api/sagas");
  CHECK(request.content_type == "application/json");
  CHECK(json::parse(request.body) == json::parse(R"({"flow": "user_registration",
        "input": {"user_id": "u1"}, "idempotency_key": "reg-u1", "version": 2,
        "wait": {"step": "create_user"}, "timeout_ms": 5000})"));
  CHECK(r.out ==
        "saga     s-1\n"
        "created  yes\n"
        "status   running\n"
        "waited   step\n"
        "result   {\"user_id\":\"u1\"}\n");
}

TEST_CASE("start reads its input from a file and sends {} without one") {
  Client c;
  c.admin.on("POST", "/api/sagas",
             {201, R"({"id": "s-2", "created": true, "status": "running", "waited": null,
                       "result": null})"});
  TempFile input("input.json", R"({"price": 400})");
  CHECK(c.run({"start", "offer_purchase", "--input", "@" + input.path.string()}).status ==
        sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "offer_purchase", "input": {"price": 400}})"));
  auto piped = run_sagactl({"start", "offer_purchase", "--input", "@-", "--url", c.admin.url()}, {},
                           R"({"from": "stdin"})");
  CHECK(piped.status == sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "offer_purchase", "input": {"from": "stdin"}})"));
  CHECK(c.run({"start", "offer_purchase"}).status == sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "offer_purchase", "input": {}})"));
}

TEST_CASE("start with a key that already started a saga answers that saga (200)") {
  Client c;
  c.admin.on("POST", "/api/sagas",
             {200, R"({"id": "s-1", "created": false, "status": "completed", "waited": null,
                       "result": null})"});
  auto r = c.run({"start", "offer_purchase", "--key", "order-42"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(r.out.find("created  no: the key already started this saga") != std::string::npos);
}

TEST_CASE("start --wait-end exits 0 when the saga completed, 1 when it ended otherwise") {
  Client c;
  c.admin.on("POST", "/api/sagas",
             {201, R"({"id": "s-1", "created": true, "status": "completed", "waited": "end",
                       "result": null})"});
  c.admin.on("POST", "/api/sagas",
             {201, R"({"id": "s-2", "created": true, "status": "compensated", "waited": "end",
                       "result": null})"});
  CHECK(c.run({"start", "offer_purchase", "--wait-end"}).status == sagactl::kExitOk);
  auto r = c.run({"start", "offer_purchase", "--wait-end"});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(r.err.find("the saga ended compensated") != std::string::npos);
}

TEST_CASE("start exits 5 when the wait timed out first (202): the saga keeps running") {
  Client c;
  c.admin.on("POST", "/api/sagas",
             {202, R"({"id": "s-3", "created": true, "status": "waiting", "waited": null,
                       "result": null})"});
  auto r = c.run({"start", "booking_payment", "--wait-end", "--timeout", "100"});
  CHECK(r.status == sagactl::kExitTimeout);
  CHECK(r.out.find("saga     s-3") != std::string::npos);
  CHECK(r.err.find("gave up waiting") != std::string::npos);
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "booking_payment", "input": {}, "wait": {"end": true},
                        "timeout_ms": 100})"));
  auto json_run = c.run({"start", "booking_payment", "--wait-end", "--json"});
  CHECK(json_run.status == sagactl::kExitTimeout);
  CHECK(json::parse(json_run.out).at("id") == "s-3");
}

TEST_CASE("start: an unknown flow exits 3, an input the contract refuses exits 1") {
  Client c;
  c.admin.on("POST", "/api/sagas", {404, error_body("not_found", "no flow 'nope'")});
  CHECK(c.run({"start", "nope"}).status == sagactl::kExitNotFound);
  FakeAdmin admin;
  admin.on("POST", "/api/sagas",
           {422, R"({"error": {"code": "invalid", "message": "input not accepted",
                     "details": ["user_id: required", "price: not an integer"]}})"});
  auto r = run_sagactl({"start", "offer_purchase", "--url", admin.url()});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(r.err ==
        "sagactl start: invalid: input not accepted (HTTP 422)\n"
        "  user_id: required\n"
        "  price: not an integer\n");
}

TEST_CASE("start: each problem of a refused input is printed on its own line, exit 1") {
  FakeAdmin admin;
  admin.on("POST", "/api/sagas", {422, R"J({"error": {"code": "invalid",
                     "message": "the input does not satisfy the flow's input contract: 2 problems",
                     "details": [
                       {"path": "input.price",
                        "message": "input.price: expected an integer, got the string \"3\""},
                       {"path": "input.cars",
                        "message": "input.cars: unknown field (expected fields: car)"}]}})J"});
  auto r = run_sagactl({"start", "offer_purchase", "--url", admin.url()});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(r.err ==
        "sagactl start: invalid: the input does not satisfy the flow's input contract: 2 problems "
        "(HTTP 422)\n"
        "  input.price: expected an integer, got the string \"3\"\n"
        "  input.cars: unknown field (expected fields: car)\n");
}

// --- retry and cancel ------------------------------------------------------------------------

TEST_CASE("retry posts to the saga's retry route, a saga that is not failed refuses (409)") {
  Client c;
  c.admin.on("POST", "/api/sagas/s-1/retry", {200, R"({"id": "s-1", "status": "running"})"});
  c.admin.on("POST", "/api/sagas/s-2/retry",
             {409, error_body("conflict", "saga s-2 is completed, not failed")});
  auto ok = c.run({"retry", "s-1"});
  CHECK(ok.status == sagactl::kExitOk);
  CHECK(c.admin.last().method == "POST");
  CHECK(c.admin.last().body.empty());
  CHECK(ok.out == "saga s-1: retried, status running\n");
  auto refused = c.run({"retry", "s-2"});
  CHECK(refused.status == sagactl::kExitFailure);
  CHECK(refused.err == "sagactl retry: conflict: saga s-2 is completed, not failed (HTTP 409)\n");
}

TEST_CASE("retry --failed posts the filter and exits 1 when any saga refused") {
  Client c;
  c.admin.on("POST", "/api/sagas/retry",
             {200, R"({"retried": ["a", "b"], "refused": [{"id": "c", "error": "changed"}]})"});
  auto r = c.run({"retry", "--failed", "--flow", "order_payment", "--from",
                  "2026-11-23T00:00:00.000Z", "--limit", "10"});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(c.admin.last().content_type == "application/json");
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "order_payment", "from": "2026-11-23T00:00:00.000Z",
                        "limit": 10})"));
  CHECK(r.out ==
        "retried 2 sagas\n"
        "  a\n"
        "  b\n"
        "refused 1\n"
        "  ID  ERROR\n"
        "  c   changed\n");
  Client none;
  none.admin.on("POST", "/api/sagas/retry", {200, R"({"retried": [], "refused": []})"});
  auto empty = none.run({"retry", "--failed"});
  CHECK(empty.status == sagactl::kExitOk);
  CHECK(empty.out == "retried 0 sagas\n");
  CHECK(none.admin.last().body == "{}");
}

TEST_CASE("cancel posts the reason, a saga past its pivot refuses (409)") {
  Client c;
  c.admin.on("POST", "/api/sagas/s-1/cancel", {200, R"({"id": "s-1", "status": "compensating"})"});
  auto r = c.run({"cancel", "s-1", "--reason", "customer asked"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) == json::parse(R"({"reason": "customer asked"})"));
  CHECK(r.out == "saga s-1: cancel accepted, status compensating\n");
  c.admin.on("POST", "/api/sagas/s-2/cancel", {409, error_body("conflict", "past its pivot")});
  CHECK(c.run({"cancel", "s-2"}).status == sagactl::kExitFailure);
  CHECK(c.admin.last().body == "{}");
  c.admin.on("POST", "/api/sagas/s-3/cancel", {404, error_body("not_found", "no saga")});
  CHECK(c.run({"cancel", "s-3"}).status == sagactl::kExitNotFound);
}

// --- pause, resume, bulk, audit ---------------------------------------------------------------
TEST_CASE("pause and resume post to the saga's routes, or the flow's with --flow") {
  Client c;
  c.admin.on("POST", "/api/sagas/s-1/pause", {200, R"({"id": "s-1", "status": "paused"})"});
  auto r = c.run({"pause", "s-1", "--reason", "stuck"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) == json::parse(R"({"reason": "stuck"})"));
  CHECK(r.out == "saga s-1: paused, status paused\n");
  c.admin.on("POST", "/api/sagas/s-1/resume", {200, R"({"id": "s-1", "status": "running"})"});
  CHECK(c.run({"resume", "s-1"}).out == "saga s-1: resumed, status running\n");
  c.admin.on("POST", "/api/sagas/s-2/resume", {409, error_body("conflict", "not paused")});
  CHECK(c.run({"resume", "s-2"}).status == sagactl::kExitFailure);
  c.admin.on("POST", "/api/flows/order/pause", {200, R"({"flow": "order", "paused": true})"});
  auto flow = c.run({"pause", "--flow", "order"});
  CHECK(flow.status == sagactl::kExitOk);
  CHECK(flow.out == "flow order: paused (new starts wait)\n");
  c.admin.on("POST", "/api/flows/nope/resume", {404, error_body("not_found", "unknown flow")});
  CHECK(c.run({"resume", "--flow", "nope"}).status == sagactl::kExitNotFound);
  CHECK(c.run({"pause", "s-1", "--flow", "order"}).status == sagactl::kExitUsage);
  CHECK(c.run({"pause"}).status == sagactl::kExitUsage);
}

TEST_CASE("admin commands name the actor from SAGAFLOW_ACTOR, else USER") {
  FakeAdmin admin;
  admin.on("POST", "/api/sagas/s-1/pause", {200, R"({"id": "s-1", "status": "paused"})"});
  run_sagactl({"pause", "s-1", "--url", admin.url()}, {{"SAGAFLOW_ACTOR", "alice"}, {"USER", "x"}});
  CHECK(admin.last().actor == "alice");
  run_sagactl({"pause", "s-1", "--url", admin.url()}, {{"USER", "bob"}});
  CHECK(admin.last().actor == "bob");
}

TEST_CASE("bulk posts the filter to the action's route, exits 1 when any refused") {
  Client c;
  c.admin.on("POST", "/api/sagas/pause",
             {200, R"({"paused": ["a", "b"], "refused": [{"id": "c", "error": "is failed"}]})"});
  auto r = c.run({"bulk", "pause", "--flow", "order", "--status", "running", "--limit", "5",
                  "--reason", "incident"});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"flow": "order", "status": "running", "limit": 5,
                        "reason": "incident"})"));
  CHECK(r.out ==
        "paused 2 sagas\n"
        "  a\n"
        "  b\n"
        "refused 1\n"
        "  ID  ERROR\n"
        "  c   is failed\n");
  c.admin.on("POST", "/api/sagas/resume", {200, R"({"resumed": ["a"], "refused": []})"});
  auto ok = c.run({"bulk", "resume"});
  CHECK(ok.status == sagactl::kExitOk);
  CHECK(ok.out == "resumed 1 saga\n  a\n");
  CHECK(c.run({"bulk", "resume", "--status", "paused"}).status == sagactl::kExitUsage);
  CHECK(c.run({"bulk", "retry", "--reason", "x"}).status == sagactl::kExitUsage);
  CHECK(c.run({"bulk", "explode"}).status == sagactl::kExitUsage);
  CHECK(c.run({"bulk", "cancel", "--limit", "0"}).status == sagactl::kExitUsage);
}

TEST_CASE("bulk --dry-run prints the count and each cancel's compensations") {
  Client c;
  c.admin.on("POST", "/api/sagas/cancel", {200, R"({"action": "cancel", "dry_run": true,
    "count": 2, "sagas": [
      {"id": "a", "flow": "order", "status": "running", "compensations": [
        {"step": "charge", "commands": ["billing.refund"]},
        {"step": "reserve", "commands": ["stock.release"]}]},
      {"id": "b", "flow": "order", "status": "waiting", "compensations": []}]})"});
  auto r = c.run({"bulk", "cancel", "--dry-run", "--flow", "order"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(json::parse(c.admin.last().body) == json::parse(R"({"flow": "order", "dry_run": true})"));
  CHECK(r.out ==
        "dry run: cancel would take 2 sagas\n"
        "  a  order  running\n"
        "    compensates charge (billing.refund)\n"
        "    compensates reserve (stock.release)\n"
        "  b  order  waiting\n"
        "    compensates nothing\n");
}

TEST_CASE("audit prints the entries as a table and the next page") {
  Client c;
  c.admin.on("GET", "/api/audit", {200, R"({"entries": [
    {"seq": 7, "at": "2026-11-23T10:00:00.000Z", "actor": "alice",
     "action": "POST /api/sagas/a/pause", "reason": "stuck", "request": "{}", "status": 200,
     "result": "{}"}], "next": 7})"});
  auto r = c.run({"audit", "--limit", "1", "--before", "9"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(c.admin.last().query == "limit=1&before=9");
  CHECK(r.out.find("alice") != std::string::npos);
  CHECK(r.out.find("POST /api/sagas/a/pause") != std::string::npos);
  CHECK(r.out.find("older: sagactl audit --before 7\n") != std::string::npos);
  CHECK(c.run({"audit", "--limit", "501"}).status == sagactl::kExitUsage);
}

// --- deploy ----------------------------------------------------------------------------------

TEST_CASE("deploy posts the file as YAML and says whether it was new") {
  Client c;
  const std::string yaml = "name: f\nversion: 1\nsteps: []\n";
  TempFile flow("flow.yaml", yaml);
  c.admin.on("POST", "/api/flows", {201, R"({"name": "f", "version": 1})"});
  c.admin.on("POST", "/api/flows", {200, R"({"name": "f", "version": 1})"});
  auto created = c.run({"deploy", flow.path.string()});
  CHECK(created.status == sagactl::kExitOk);
  CHECK(c.admin.last().content_type == "application/yaml");
  CHECK(c.admin.last().body == yaml);
  CHECK(created.out == "f version 1: deployed\n");
  auto again = c.run({"deploy", flow.path.string()});
  CHECK(again.status == sagactl::kExitOk);
  CHECK(again.out == "f version 1: already deployed with this text\n");
}

TEST_CASE("deploy prints the server's lint diagnostics as lint does and exits 1") {
  Client c;
  TempFile flow("bad.yaml", "name: f\n");
  c.admin.on("POST", "/api/flows",
             {422, R"({"error": {"code": "invalid", "message": "lint failed", "details":
               [{"line": 1, "column": 1, "message": "missing 'version'"},
                {"line": 1, "column": 1, "message": "missing 'steps'"}]}})"});
  auto r = c.run({"deploy", flow.path.string()});
  CHECK(r.status == sagactl::kExitFailure);
  const auto file = flow.path.string();
  CHECK(r.err == file + ":1:1: error: missing 'version'\n" + file +
                     ":1:1: error: missing 'steps'\n" + "sagactl deploy: " + file +
                     ": refused, 2 errors\n");
}

TEST_CASE("control characters a server or a file sent are printed escaped, never raw") {
  Client c;
  TempFile flow("bad\x1b[2K.yaml", "name: f\n");
  c.admin.on("POST", "/api/flows",
             {422, R"({"error": {"code": "invalid", "message": "lint failed", "details":
               [{"line": 3, "column": 1, "message": "unknown key '\u001b[2K\u009b'"}]}})"});
  auto deploy = c.run({"deploy", flow.path.string()});
  CHECK(deploy.status == sagactl::kExitFailure);
  CHECK(deploy.err.find('\x1b') == std::string::npos);
  CHECK(deploy.err.find(":3:1: error: unknown key '\\x1b[2K\\xc2\\x9b'\n") != std::string::npos);
  CHECK(deploy.err.find("bad\\x1b[2K.yaml") != std::string::npos);

  c.admin.on("GET", "/api/sagas/x",
             {404, error_body("not_found", "no saga x\x1b]0;title\x07"), "application/json"});
  auto show = c.run({"show", "x"});
  CHECK(show.status == sagactl::kExitNotFound);
  CHECK(show.err.find("no saga x\\x1b]0;title\\x07 (HTTP 404)") != std::string::npos);

  c.admin.on("GET", "/api/sagas",
             {200, R"({"sagas": [{"id": "s\u001b[2K", "flow": "f", "flow_version": 1,
               "status": "completed", "version": 1, "key": "k\u0007",
               "created_at": "2026-11-23T10:00:00.000Z", "updated_at": "2026-11-23T10:00:00.000Z"}],
               "next": null})"});
  auto list = c.run({"list"});
  CHECK(list.status == 0);
  CHECK(list.out.find('\x1b') == std::string::npos);
  CHECK(list.out.find("s\\x1b[2K") != std::string::npos);
  CHECK(list.out.find("k\\x07") != std::string::npos);

  c.admin.on("GET", "/api/flows", {200, "\x1b[2Knot json", "text/plain"});
  auto flows = c.run({"flows"});
  CHECK(flows.status == sagactl::kExitUnavailable);
  CHECK(flows.err.find("\\x1b[2Knot json") != std::string::npos);
}

TEST_CASE("deploy of a version that exists with another text exits 1") {
  Client c;
  TempFile flow("flow.yaml", "name: f\n");
  c.admin.on("POST", "/api/flows",
             {409, error_body("conflict", "f version 1 exists with another text")});
  auto r = c.run({"deploy", flow.path.string()});
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(r.err.find("conflict: f version 1 exists with another text") != std::string::npos);
}

// --- answers that are not answers ------------------------------------------------------------

TEST_CASE("a server that does not answer in time exits 4") {
  Client c;
  c.admin.on("GET", "/api/flows",
             {200, R"({"flows": []})", "application/json", std::chrono::milliseconds(5000)});
  const auto started = std::chrono::steady_clock::now();
  auto r = c.run({"flows", "--http-timeout", "200"});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(3));
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("did not answer: no answer within 200 ms") != std::string::npos);
}

TEST_CASE("an answer that is not JSON exits 4 with a clear message") {
  Client c;
  c.admin.on("GET", "/api/flows", {200, "<html>proxy error</html>", "text/html"});
  auto r = c.run({"flows"});
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err == "sagactl flows: bad answer from the admin endpoint at " + c.admin.url() +
                     ": HTTP 200 with a body that is not JSON: <html>proxy error</html>\n");
  c.admin.on("GET", "/api/sagas/x", {200, "[1, 2]"});
  CHECK(c.run({"show", "x"}).status == sagactl::kExitUnavailable);
  c.admin.on("GET", "/api/sagas", {200, R"({"unexpected": true})"});
  auto list = c.run({"list"});
  CHECK(list.status == sagactl::kExitUnavailable);
  CHECK(list.err.find("no \"sagas\" list") != std::string::npos);
}

TEST_CASE("an unavailable server (503) exits 4") {
  Client c;
  c.admin.on("GET", "/api/flows", {503, error_body("unavailable", "the store does not answer")});
  auto r = c.run({"flows"});
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("unavailable: the store does not answer (HTTP 503)") != std::string::npos);
}

TEST_CASE("nobody listening exits 4") {
  std::string url;
  {
    FakeAdmin gone;  // its port is free again once it is destroyed
    url = gone.url();
  }
  auto r = run_sagactl({"list", "--url", url});
  CHECK(r.status == sagactl::kExitUnavailable);
  CHECK(r.err.find("cannot reach the admin endpoint at " + url) != std::string::npos);
}

// --- short ids, options before the command, send-event, deploy warnings ------------------------

namespace {

std::string saga_list(const std::vector<std::string>& ids) {
  json::array sagas;
  for (const auto& id : ids) {
    sagas.push_back(json::object{{"id", id},
                                 {"flow", "offer_purchase"},
                                 {"status", "completed"},
                                 {"created_at", "2026-11-23T10:00:00.000Z"}});
  }
  return json::serialize(json::object{{"sagas", sagas}, {"next", nullptr}});
}

}  // namespace

TEST_CASE("show takes the beginning of an id when it begins one saga's id only") {
  Client c;
  c.admin.on("GET", "/api/sagas/7f3a", {404, error_body("not_found", "no saga 7f3a")});
  c.admin.on("GET", "/api/sagas", {200, saga_list({"7f3a0001-whole"})});
  c.admin.on("GET", "/api/sagas/7f3a0001-whole",
             {200, R"({"saga": {"id": "7f3a0001-whole", "flow": "offer_purchase",
                       "status": "completed"}, "history": []})"});
  auto r = c.run({"show", "7f3a"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(c.admin.requests().at(1).target == "/api/sagas?id_prefix=7f3a&limit=11");
  CHECK(c.admin.last().target == "/api/sagas/7f3a0001-whole");
  CHECK(r.out.find("7f3a0001-whole") != std::string::npos);
}

TEST_CASE("show of the beginning of several ids lists them and exits 2") {
  Client c;
  c.admin.on("GET", "/api/sagas/7f", {404, error_body("not_found", "no saga 7f")});
  c.admin.on("GET", "/api/sagas", {200, saga_list({"7f3a-one", "7fbb-two"})});
  auto r = c.run({"show", "7f"});
  CHECK(r.status == sagactl::kExitUsage);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "sagactl show: '7f' is the beginning of 2 sagas; give more of the id:\n"
        "  7f3a-one  offer_purchase  completed  2026-11-23T10:00:00.000Z\n"
        "  7fbb-two  offer_purchase  completed  2026-11-23T10:00:00.000Z\n");

  Client d;
  std::vector<std::string> many;
  for (int i = 0; i < 11; ++i) many.push_back("7f" + std::to_string(i));
  d.admin.on("GET", "/api/sagas/7f", {404, error_body("not_found", "no saga 7f")});
  d.admin.on("GET", "/api/sagas", {200, saga_list(many)});
  auto more = d.run({"show", "7f"});
  CHECK(more.status == sagactl::kExitUsage);
  CHECK(more.err.starts_with(
      "sagactl show: '7f' is the beginning of more than 10 sagas; give more of the id:\n"));
  CHECK(std::count(more.err.begin(), more.err.end(), '\n') == 11);
}

TEST_CASE("the common options may come before the command") {
  FakeAdmin admin;
  admin.on("GET", "/api/flows", {200, R"({"flows": []})"});
  TempFile token("token", kToken);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--url", admin.url(), "--token-file", token.path.string(), "--json", "flows"},
           {"--url=" + admin.url(), "--json", "flows", "--token-file", token.path.string()},
           {"--http-timeout", "5000", "flows", "--json", "--url", admin.url(), "--token-file",
            token.path.string()}}) {
    auto r = run_sagactl(args);
    CHECK_MESSAGE(r.status == sagactl::kExitOk, r.err);
    CHECK(r.out == "{\"flows\": []}\n");  // --json: as it came
    CHECK(admin.last().authorization == std::string("Bearer ") + kToken);
  }
  // Before a command that takes none of them: that command's unknown option.
  auto lint = run_sagactl({"--json", "lint", "x.yaml"});
  CHECK(lint.status == sagactl::kExitUsage);
  CHECK(lint.err.find("unknown option '--json'") != std::string::npos);
  // Only options: no command.
  CHECK(run_sagactl({"--url", admin.url()}).status == sagactl::kExitUsage);
}

TEST_CASE("send-event posts the type, payload and ids, and says what was sent") {
  Client c;
  c.admin.on("POST", "/api/events",
             {202, R"({"message_id": "payment.succeeded/pay-42", "type": "payment.succeeded"})"});
  auto r = c.run({"send-event", "payment.succeeded", "--payload", R"({"payment_id": "pay-42"})",
                  "--id", "payment.succeeded/pay-42", "--correlation-id", "saga-1"});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(r.out == "event payment.succeeded sent, message id payment.succeeded/pay-42\n");
  CHECK(c.admin.last().content_type == "application/json");
  CHECK(json::parse(c.admin.last().body) ==
        json::parse(R"({"type": "payment.succeeded", "payload": {"payment_id": "pay-42"},
                        "message_id": "payment.succeeded/pay-42", "correlation_id": "saga-1"})"));

  // The payload from stdin; without one, {}.
  run_sagactl({"send-event", "a.b", "--payload", "@-", "--url", c.admin.url()}, {}, R"({"x": 1})");
  CHECK(json::parse(c.admin.last().body) == json::parse(R"({"type": "a.b", "payload": {"x": 1}})"));
  c.run({"send-event", "a.b"});
  CHECK(json::parse(c.admin.last().body) == json::parse(R"({"type": "a.b", "payload": {}})"));

  const auto sent = c.admin.requests().size();
  CHECK(c.run({"send-event", "a.b", "--payload", "[1]"}).status == sagactl::kExitUsage);
  CHECK(c.run({"send-event", "a.b", "--payload", "{"}).status == sagactl::kExitUsage);
  CHECK(c.run({"send-event"}).status == sagactl::kExitUsage);
  CHECK(c.admin.requests().size() == sent);  // none of those was sent

  Client d;
  d.admin.on("POST", "/api/events",
             {422, error_body("invalid", "no one listens to event type a.b: ...")});
  auto refused = d.run({"send-event", "a.b"});
  CHECK(refused.status == sagactl::kExitFailure);
  CHECK(refused.err ==
        "sagactl send-event: invalid: no one listens to event type a.b: ... "
        "(HTTP 422)\n");
}

TEST_CASE("deploy prints each warning on stderr and still exits 0") {
  Client c;
  TempFile flow("warned.yaml", "name: f\nversion: 1\nsteps: []\n");
  c.admin.on("POST", "/api/flows", {201, R"({"name": "f", "version": 1, "warnings": [
               {"service": "pionts", "message": "flow f sends commands to service pionts, ..."}]})"});
  auto r = c.run({"deploy", flow.path.string()});
  CHECK(r.status == sagactl::kExitOk);
  CHECK(r.out == "f version 1: deployed\n");
  CHECK(r.err == "sagactl deploy: warning: flow f sends commands to service pionts, ...\n");
}
