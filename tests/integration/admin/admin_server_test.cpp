// The admin endpoint over a real socket, on sagaflowd's embedded setup: what a client of
// sagactl's or a gateway's kind sees.
#include <doctest/doctest.h>

#include <boost/asio/write.hpp>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

TEST_CASE("a start waiting for a step answers 201 with the step's result, over HTTP") {
  AdminWorld world;
  Client client(world.endpoint());
  auto res = client.request(verb::post, "/api/sagas",
                            registration("u-http-1", R"(, "wait": {"step": "create_user"})"));
  CHECK(res.result() == status::created);
  auto body = body_of(res);
  CHECK(body.at("created") == true);
  CHECK(body.at("waited") == "step");
  CHECK(body.at("result") == json::parse(R"({"user_id": "u-http-1"})"));
  const auto id = std::string(body.at("id").as_string());
  CHECK(world.store.load(id));

  // And to the end: the same saga, seen through the list and one saga's page.
  auto shown = client.request(verb::get, "/api/sagas/" + id);
  CHECK(shown.result() == status::ok);
  CHECK(body_of(shown).at("saga").at("flow") == "user_registration");
}

TEST_CASE("an idempotent start over HTTP returns the first saga") {
  AdminWorld world;
  Client client(world.endpoint());
  const auto key = std::string(R"(, "idempotency_key": "register-u-http-2")");
  auto first = client.request(verb::post, "/api/sagas", registration("u-http-2", key));
  REQUIRE(first.result() == status::created);
  auto again = client.request(verb::post, "/api/sagas", registration("u-http-2", key));
  CHECK(again.result() == status::ok);
  CHECK(body_of(again).at("created") == false);
  CHECK(body_of(again).at("id") == body_of(first).at("id"));
  CHECK(world.store.list(SagaFilter{.flow = "user_registration"}).size() == 1);
}

TEST_CASE("a body over 1 MiB gets 413 with a JSON error, and the connection closes") {
  AdminWorld world;
  Client client(world.endpoint());
  Request req{verb::post, "/api/flows", 11};
  req.body() = std::string(2 * 1024 * 1024, 'x');
  auto res = client.send(std::move(req));
  CHECK(res.result() == status::payload_too_large);
  CHECK(res[field::content_type] == "application/json");
  CHECK(body_of(res).at("error").at("code") == "too_large");
  CHECK_FALSE(res.keep_alive());
  CHECK(client.closed_by_server());
}

TEST_CASE("a client that asks to continue is told to, and refused at once when too large") {
  AdminWorld world;
  {
    Client client(world.endpoint());
    const std::string body = registration("u-http-3");
    const std::string head =
        "POST /api/sagas HTTP/1.1\r\nHost: x\r\nContent-Type: "
        "application/json\r\nExpect: 100-continue\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n";
    asio::write(client.socket(), asio::buffer(head));
    auto interim = client.receive();
    CHECK(interim.result() == status::continue_);
    asio::write(client.socket(), asio::buffer(body));
    CHECK(client.receive().result() == status::created);
  }
  {
    Client client(world.endpoint());
    const std::string head =
        "POST /api/flows HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
        std::to_string(64 * 1024 * 1024) + "\r\n\r\n";
    asio::write(client.socket(), asio::buffer(head));
    auto refused = client.receive();  // before a byte of the body was sent
    CHECK(refused.result() == status::payload_too_large);
  }
}

TEST_CASE("a client too slow to send its request is closed after the read time limit") {
  AdminWorld world(ServerOptions{.read_timeout = 300ms});
  Client client(world.endpoint());
  asio::write(client.socket(), asio::buffer(std::string_view("GET /healthz HTTP/1.1\r\nHo")));
  const auto began = std::chrono::steady_clock::now();
  CHECK(client.closed_by_server());
  const auto waited = std::chrono::steady_clock::now() - began;
  CHECK(waited >= 250ms);
  CHECK(waited < 5s);
}

TEST_CASE("keep-alive: several requests on one connection, each answered in turn") {
  AdminWorld world;
  Client client(world.endpoint());
  auto health = client.request(verb::get, "/healthz");
  CHECK(health.result() == status::ok);
  CHECK(health.keep_alive());
  auto started = client.request(verb::post, "/api/sagas", registration("u-http-4"));
  CHECK(started.result() == status::created);
  auto list = client.request(verb::get, "/api/sagas?flow=user_registration");
  CHECK(list.result() == status::ok);
  CHECK(body_of(list).at("sagas").as_array().size() == 1);
  auto missing = client.request(verb::get, "/nope");  // an error keeps the connection too
  CHECK(missing.result() == status::not_found);
  CHECK(client.request(verb::get, "/readyz").result() == status::ok);
}

TEST_CASE("what is not HTTP gets a 400 JSON error") {
  AdminWorld world;
  Client client(world.endpoint());
  asio::write(client.socket(), asio::buffer(std::string_view("HELLO THERE\r\n\r\n")));
  auto res = client.receive();
  CHECK(res.result() == status::bad_request);
  CHECK(body_of(res).at("error").at("code") == "bad_request");
}

TEST_CASE("with a token, HTTP requests need it, and /metrics counts the sagas") {
  const std::string token = "integration-token-0123456789";
  AdminWorld world({}, AdminOptions{.token = token});
  Client client(world.endpoint());
  CHECK(client.request(verb::get, "/api/sagas").result() == status::unauthorized);
  CHECK(client.request(verb::get, "/healthz").result() == status::ok);

  Request start{verb::post, "/api/sagas", 11};
  start.set(field::authorization, "Bearer " + token);
  start.set(field::content_type, "application/json");
  start.body() = registration("u-http-5", R"(, "wait": {"end": true}, "timeout_ms": 10000)");
  auto res = client.send(std::move(start));
  CHECK(res.result() == status::created);
  CHECK(body_of(res).at("status") == "completed");

  Request scrape{verb::get, "/metrics", 11};
  scrape.set(field::authorization, "Bearer " + token);
  auto metrics = client.send(std::move(scrape));
  CHECK(metrics.result() == status::ok);
  CHECK(metrics.body().find(R"(sagaflow_sagas_completed_total{flow="user_registration"} 1)") !=
        std::string::npos);
  CHECK(
      metrics.body().find(
          R"(sagaflow_step_duration_seconds_count{flow="user_registration",step="create_user"} 1)") !=
      std::string::npos);
}
