// Watching instead of polling: the event stream (GET /api/sagas/events) as handle_request gives
// it, and a waiting start woken by the saga's changes instead of re-reading the store.
#include "api_world.hpp"
#include "support/forwarding_backend.hpp"

namespace sagaflow::http::testing {
namespace {

// The world's backend, counting the reads of a saga (the store's load).
class CountingBackend final : public sagaflow::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  int reads = 0;
  std::optional<SagaRow> saga(std::string_view id) override {
    ++reads;
    return ForwardingBackend::saga(id);
  }
};

std::string order_body(int n, json::object extra = {}) {
  json::object body{{"flow", "order"}, {"input", {{"n", n}}}};
  for (auto& [k, v] : extra) body[k] = v;
  return json::serialize(body);
}

struct SseEvent {
  std::string type;
  std::uint64_t id = 0;
  json::value data;
};

// The events of a piece of the stream (what next() gave).
std::vector<SseEvent> events_of(const std::string& text) {
  std::vector<SseEvent> out;
  std::size_t at = 0;
  for (auto end = text.find("\n\n"); end != std::string::npos; end = text.find("\n\n", at)) {
    std::string_view block(text.data() + at, end - at);
    at = end + 2;
    SseEvent e;
    while (!block.empty()) {
      auto nl = block.find('\n');
      auto line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
      if (line.starts_with("event: ")) e.type = line.substr(7);
      if (line.starts_with("id: ")) e.id = std::stoull(std::string(line.substr(4)));
      if (line.starts_with("data: ")) e.data = json::parse(line.substr(6));
    }
    if (!e.type.empty()) out.push_back(std::move(e));
  }
  return out;
}

std::vector<SseEvent> saga_events(EventStream& stream) {
  std::vector<SseEvent> out;
  for (auto& e : events_of(stream.next())) {
    if (e.type == "saga") out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_CASE("a waiting start is woken by its saga's changes and reads the store only once done") {
  ApiWorld w;
  CountingBackend counting(w.backend);
  AdminApi api(counting, {});
  auto outcome = api.handle_request(
      ApiWorld::request(verb::post, "/api/sagas", order_body(7, {{"wait", {{"step", "charge"}}}})));
  auto& pending = std::get<Pending>(outcome);
  REQUIRE(pending.wake_on());
  int wakes = 0;
  auto watch = pending.wake_on()([&] { ++wakes; });

  w.orchestrator.run_once(0ms);  // the start is committed
  CHECK(wakes == 1);
  CHECK_FALSE(pending.poll());
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h-7"}}));
  CHECK(wakes == 2);
  CHECK_FALSE(pending.poll());
  CHECK_FALSE(pending.poll());  // a poll between changes, as the server's slow timer makes
  CHECK(counting.reads == 0);   // woken twice, polled three times: the store was not read

  w.answer("billing.charge");
  CHECK(wakes == 3);
  auto res = pending.poll();
  REQUIRE(res);
  CHECK(res->result() == status::created);
  CHECK(body_of(*res).at("waited") == "step");
  CHECK(counting.reads == 1);
}

TEST_CASE("a waiting start for a saga an idempotency key found reads it once, then waits") {
  ApiWorld w;
  const auto id = w.start(3, "k-3");
  CountingBackend counting(w.backend);
  AdminApi api(counting, {});
  auto outcome = api.handle_request(
      ApiWorld::request(verb::post, "/api/sagas",
                        order_body(3, {{"idempotency_key", "k-3"}, {"wait", {{"end", true}}}})));
  auto& pending = std::get<Pending>(outcome);
  w.orchestrator.run_once(0ms);
  CHECK_FALSE(pending.poll());
  CHECK(counting.reads == 1);
  CHECK_FALSE(pending.poll());
  CHECK(counting.reads == 1);
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
  w.answer("billing.charge", worker::Result::ok(), id);
  CHECK_FALSE(pending.poll());
  w.answer("shipping.ship", worker::Result::ok(), id);
  auto res = pending.poll();
  REQUIRE(res);
  CHECK(res->result() == status::ok);
  CHECK(body_of(*res).at("status") == "completed");
  CHECK(counting.reads == 1);  // the end is answered from its change, not read again
}

TEST_CASE(
    "a start waiting for the end answers from the change that ended it, never reading the store") {
  ApiWorld w;
  CountingBackend counting(w.backend);
  AdminApi api(counting, {});
  auto outcome = api.handle_request(
      ApiWorld::request(verb::post, "/api/sagas", order_body(9, {{"wait", {{"end", true}}}})));
  auto& pending = std::get<Pending>(outcome);
  w.orchestrator.run_once(0ms);  // the start is committed
  CHECK_FALSE(pending.poll());
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h-9"}}));
  w.answer("billing.charge");
  CHECK_FALSE(pending.poll());
  w.answer("shipping.ship");
  auto res = pending.poll();
  REQUIRE(res);
  CHECK(res->result() == status::created);
  const auto body = body_of(*res);
  CHECK(body.at("status") == "completed");
  CHECK(body.at("waited") == "end");
  CHECK(body.at("created") == true);
  CHECK(body.at("result").is_null());
  CHECK(counting.reads == 0);
  CHECK(w.status_of(std::string(body.at("id").as_string())) == "completed");
}

TEST_CASE("GET /api/sagas/events streams each committed change of a saga, with its records") {
  ApiWorld w;
  auto outcome = w.begin(ApiWorld::request(verb::get, "/api/sagas/events"));
  auto& stream = std::get<EventStream>(outcome);
  CHECK(stream.head().starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(stream.head().find("Content-Type: text/event-stream") != std::string::npos);
  auto opened = events_of(stream.next());
  REQUIRE(opened.size() == 1);
  CHECK(opened[0].type == "open");
  CHECK(stream.next().empty());  // nothing happened since

  int wakes = 0;
  auto watch = stream.wake_on([&] { ++wakes; });
  const auto id = w.complete(4);
  CHECK(wakes >= 4);
  auto events = saga_events(stream);
  REQUIRE(events.size() == 4);  // started, reserve, charge, ship answered
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(events[i].data.at("id").as_string() == id);
    CHECK(events[i].data.at("flow") == "order");
    CHECK(events[i].data.at("seq").to_number<std::uint64_t>() == events[i].id);
    if (i > 0) CHECK(events[i].id == events[i - 1].id + 1);
  }
  CHECK(events.front().data.at("status") == "running");
  CHECK(events.front().data.at("records").at(0).at("kind") == "saga_started");
  CHECK(events.back().data.at("status") == "completed");
  CHECK(events.back().data.at("done_steps") == json::parse(R"(["reserve","charge","ship"])"));
}

TEST_CASE("the event stream keeps to its flow, status and ids filters") {
  ApiWorld w;
  auto by_status = w.begin(ApiWorld::request(verb::get, "/api/sagas/events?status=completed"));
  auto by_other_flow = w.begin(ApiWorld::request(verb::get, "/api/sagas/events?flow=nothing"));
  auto& completed = std::get<EventStream>(by_status);
  auto& other = std::get<EventStream>(by_other_flow);
  completed.next();
  other.next();
  const auto first = w.complete(1);
  const auto second = w.start(2);
  auto by_id = w.begin(ApiWorld::request(verb::get, "/api/sagas/events?ids=x," + second));
  auto& mine = std::get<EventStream>(by_id);
  mine.next();
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), second);

  auto done = saga_events(completed);
  REQUIRE(done.size() == 1);
  CHECK(done[0].data.at("id").as_string() == first);
  CHECK(saga_events(other).empty());
  auto second_events = saga_events(mine);
  REQUIRE(second_events.size() == 1);
  CHECK(second_events[0].data.at("id").as_string() == second);
  CHECK(second_events[0].data.at("done_steps") == json::parse(R"(["reserve"])"));
}

TEST_CASE("Last-Event-ID resumes after that event, and a gap event says when some are gone") {
  ApiWorld w;  // the feed keeps 100 changes
  w.complete(1);
  auto all = w.begin(ApiWorld::request(verb::get, "/api/sagas/events?last_event_id=0"));
  auto events = saga_events(std::get<EventStream>(all));
  REQUIRE(events.size() == 4);

  auto request = ApiWorld::request(verb::get, "/api/sagas/events");
  request.set("Last-Event-ID", std::to_string(events[1].id));
  auto resumed = w.begin(request);
  auto rest = saga_events(std::get<EventStream>(resumed));
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].id == events[2].id);

  for (int i = 0; i < 30; ++i) w.complete(10 + i);  // 120 changes: the first ones are gone
  auto late = w.begin(ApiWorld::request(verb::get, "/api/sagas/events?last_event_id=2"));
  auto got = events_of(std::get<EventStream>(late).next());
  REQUIRE(got.size() == 2);
  CHECK(got[1].type == "gap");
  CHECK(got[1].data.at("missed_after") == 2);
  CHECK(got[1].id == w.changes.last_id());  // and it goes on from the newest change
}

TEST_CASE(
    "the event stream refuses bad parameters with 400 and more streams than allowed with 503") {
  ApiWorld w(AdminOptions{.max_streams = 2});
  CHECK(error_code(w.call(verb::get, "/api/sagas/events?status=done")) == "bad_request");
  CHECK(error_code(w.call(verb::get, "/api/sagas/events?last_event_id=x")) == "bad_request");
  CHECK(error_code(w.call(verb::get, "/api/sagas/events?since=1")) == "bad_request");
  CHECK(w.call(verb::post, "/api/sagas/events").result() == status::method_not_allowed);
  {
    auto one = w.begin(ApiWorld::request(verb::get, "/api/sagas/events"));
    auto two = w.begin(ApiWorld::request(verb::get, "/api/sagas/events"));
    REQUIRE(std::holds_alternative<EventStream>(two));
    auto three = w.call(verb::get, "/api/sagas/events");
    CHECK(three.result() == status::service_unavailable);
    CHECK(error_code(three) == "unavailable");
  }
  // The two ended: their places are free again.
  auto again = w.begin(ApiWorld::request(verb::get, "/api/sagas/events"));
  CHECK(std::holds_alternative<EventStream>(again));
}

}  // namespace sagaflow::http::testing
