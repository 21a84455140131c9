// A deploy that names a service nobody knows: answered 201 with a warning (a misspelled name is
// caught at deploy time, not by a restart), on the embedded setup over HTTP.
#include <doctest/doctest.h>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// A flow of one irreversible command to `service`.
std::string one_command_flow(const std::string& name, const std::string& service) {
  return "name: " + name +
         "\nversion: 1\ninput:\n  user_id: string\nsteps:\n  - name: only\n    irreversible: "
         "true\n    command:\n      service: " +
         service + "\n      name: add\n      input: { user_id: $input.user_id }\n";
}

Response deploy(Client& client, const std::string& yaml) {
  Request req{verb::post, "/api/flows", 11};
  req.set(field::content_type, "application/yaml");
  req.body() = yaml;
  return client.send(std::move(req));
}

}  // namespace

TEST_CASE("deploying a flow with a new service nobody serves answers 201 with a warning") {
  AdminWorld world;
  Client client(world.endpoint());
  auto res = deploy(client, one_command_flow("stamp_collection", "pionts"));
  REQUIRE(res.result() == status::created);
  const auto body = body_of(res);
  REQUIRE(body.at("warnings").as_array().size() == 1);
  const auto& warning = body.at("warnings").at(0);
  CHECK(warning.at("service") == "pionts");
  const auto message = std::string(warning.at("message").as_string());
  CHECK_MESSAGE(message.find("service pionts, which no flow used before and which nothing "
                             "consumes yet") != std::string::npos,
                message);
  // Deployed all the same: sagas may start (their command waits for a worker).
  CHECK(world.flows.find("stamp_collection", 1));

  // The same again: unchanged, no warning.
  auto again = deploy(client, one_command_flow("stamp_collection", "pionts"));
  CHECK(again.result() == status::ok);
  CHECK(body_of(again).at("warnings").as_array().empty());
}

TEST_CASE("deploying a flow whose services are known or served answers without warnings") {
  AdminWorld world;
  Client client(world.endpoint());
  auto res = deploy(client, one_command_flow("points_again", "points"));
  REQUIRE(res.result() == status::created);
  CHECK(body_of(res).at("warnings").as_array().empty());
}
