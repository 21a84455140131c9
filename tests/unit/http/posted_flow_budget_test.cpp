// A posted flow is parsed and verified on the flow checker's threads, within a time budget:
// a parser that never returns costs its request a 422 at the budget's end and its thread, never
// the endpoint; checks beyond the queue are refused with 503 and Retry-After.
#include <doctest/doctest.h>

#include <condition_variable>
#include <memory>
#include <mutex>

#include "api_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// A parser that does not return until the test opens the gate (for a stuck one: at its end).
struct Gate {
  std::mutex mutex;
  std::condition_variable changed;
  bool open = false;
  int entered = 0;

  void wait_entered(int n) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return entered >= n; });
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    changed.notify_all();
  }
};

FlowCheckOptions held_by(const std::shared_ptr<Gate>& gate, std::size_t threads, std::size_t queue,
                         std::chrono::milliseconds budget) {
  return FlowCheckOptions{
      .threads = threads, .queue = queue, .budget = budget, .load = [gate](std::string_view text) {
        std::unique_lock lock(gate->mutex);
        ++gate->entered;
        gate->changed.notify_all();
        gate->changed.wait(lock, [&] { return gate->open; });
        return flow::load_flow_text(text, "posted flow");
      }};
}

// Opens the gate when the test ends, however it ends, so that no thread stays held.
struct Opener {
  std::shared_ptr<Gate> gate;
  ~Opener() { gate->release(); }
};

Request posted(std::string target) {
  auto req = ApiWorld::request(verb::post, std::move(target), std::string(kOrderV2));
  req.set(field::content_type, "application/yaml");
  return req;
}

}  // namespace

TEST_CASE("a flow whose parser never returns is answered 422 at the budget's end") {
  for (const char* route : {"/api/flows", "/api/flows/lint"}) {
    CAPTURE(route);
    auto gate = std::make_shared<Gate>();
    Opener opener{gate};
    ApiWorld world({.flow_checks = held_by(gate, 1, 1, 300ms)});
    auto outcome = world.begin(posted(route));
    REQUIRE(std::holds_alternative<Pending>(outcome));
    gate->wait_entered(1);
    // The request is out of the caller's hands: the endpoint answers others meanwhile.
    CHECK(world.call(verb::get, "/healthz").result() == status::ok);
    auto res = posted_flow_answer(std::move(outcome));
    CHECK(res.result() == status::unprocessable_entity);
    CHECK(error_code(res) == "invalid");
    const auto error = body_of(res).at("error");
    CHECK(std::string(error.at("message").as_string()).find("within 300 ms") != std::string::npos);
    // Shaped as a diagnostic, so that sagactl deploy prints it against the file.
    CHECK(error.at("details").at(0).at("line") == 0);
    CHECK_FALSE(world.flows.find("order", 2));
  }
}

TEST_CASE("once every check thread is stuck, posted flows are refused at once with 503") {
  auto gate = std::make_shared<Gate>();
  Opener opener{gate};
  ApiWorld w({.flow_checks = held_by(gate, 1, 4, 200ms)});
  auto first = w.posted(posted("/api/flows"));
  REQUIRE(first.result() == status::unprocessable_entity);

  auto refused = w.begin(posted("/api/flows/lint"));
  REQUIRE(std::holds_alternative<Response>(refused));
  auto& res = std::get<Response>(refused);
  CHECK(res.result() == status::service_unavailable);
  CHECK(error_code(res) == "unavailable");
  CHECK(std::string(body_of(res).at("error").at("message").as_string()).find("restart") !=
        std::string::npos);

  // The parser returns after all: the thread is back, and checks pass again.
  gate->release();
  Response again = res;
  for (int i = 0; i < 500 && again.result() == status::service_unavailable; ++i) {
    std::this_thread::sleep_for(10ms);
    again = w.posted(posted("/api/flows/lint"));
  }
  CHECK(again.result() == status::ok);
  CHECK(body_of(again).at("ok") == true);
}

TEST_CASE("checks beyond the queue get 503 with Retry-After, and so does one that never started") {
  auto gate = std::make_shared<Gate>();
  Opener opener{gate};
  ApiWorld w({.flow_checks = held_by(gate, 1, 1, 400ms)});
  auto running = w.begin(posted("/api/flows/lint"));
  gate->wait_entered(1);
  auto queued = w.begin(posted("/api/flows/lint"));
  REQUIRE(std::holds_alternative<Pending>(queued));

  auto over = w.begin(posted("/api/flows"));
  REQUIRE(std::holds_alternative<Response>(over));
  auto& full = std::get<Response>(over);
  CHECK(full.result() == status::service_unavailable);
  CHECK(error_code(full) == "unavailable");
  CHECK(full[field::retry_after] == "1");

  // The queued one never got a thread within the budget: the same answer, not the flow's fault.
  auto never_started = posted_flow_answer(std::move(queued));
  CHECK(never_started.result() == status::service_unavailable);
  CHECK(never_started[field::retry_after] == "1");
  CHECK(posted_flow_answer(std::move(running)).result() == status::unprocessable_entity);
  std::lock_guard lock(gate->mutex);
  CHECK(gate->entered == 1);  // the abandoned one never ran
}

TEST_CASE("a check that finishes in time answers as before, from the checker's thread") {
  auto gate = std::make_shared<Gate>();
  Opener opener{gate};
  ApiWorld w({.flow_checks = held_by(gate, 2, 2, 10'000ms)});
  auto lint = w.begin(posted("/api/flows/lint"));
  auto deploy = w.begin(posted("/api/flows"));
  gate->wait_entered(2);
  REQUIRE(std::holds_alternative<Pending>(lint));
  CHECK_FALSE(std::get<Pending>(lint).poll());  // not before the parser returns
  gate->release();
  CHECK(body_of(posted_flow_answer(std::move(lint))).at("ok") == true);
  CHECK(posted_flow_answer(std::move(deploy)).result() == status::created);
  CHECK(w.flows.find("order", 2));
}
