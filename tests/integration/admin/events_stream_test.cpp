// GET /api/sagas/events over HTTP on the embedded setup: a stream sees a saga's changes as they
// are committed, keeps to its filters, resumes after Last-Event-ID, and the streams allowed at
// once are bounded (503 beyond).
#include <sys/socket.h>

#include <functional>
#include <string>
#include <vector>

#include "admin_world.hpp"

namespace sagaflow::http::testing {
namespace {

struct SseEvent {
  std::string type;
  std::uint64_t id = 0;
  json::value data;
};

// A raw client for one streamed answer: reads as the server writes, with a 10 s limit on
// silence so that a test never hangs.
class EventClient {
 public:
  EventClient(const tcp::endpoint& endpoint, const std::string& target,
              const std::string& headers = {})
      : socket_(io_) {
    socket_.connect(endpoint);
    struct timeval tv {
      10, 0
    };
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
    asio::write(socket_, asio::buffer(request));
  }

  // The status code, once the head is read.
  int status() {
    while (head_end_ == std::string::npos) read_more();
    return std::stoi(text_.substr(9, 3));
  }
  std::string head() {
    status();
    return text_.substr(0, head_end_);
  }
  // A JSON body (an error answer with Content-Length).
  json::value json_body() {
    status();
    const auto at = text_.find("Content-Length: ");
    REQUIRE(at != std::string::npos);
    const auto length = std::stoul(text_.substr(at + 16));
    while (text_.size() < head_end_ + 4 + length) read_more();
    return json::parse(text_.substr(head_end_ + 4, length));
  }

  // Reads until `done` holds for the events so far; returns them.
  std::vector<SseEvent> until(const std::function<bool(const std::vector<SseEvent>&)>& done) {
    REQUIRE(status() == 200);
    for (;;) {
      parse();
      if (done(events_)) return events_;
      read_more();
    }
  }
  std::vector<SseEvent> until_saga(const std::string& id, const std::string& status) {
    return until([&](const std::vector<SseEvent>& events) {
      for (const auto& e : events) {
        if (e.type == "saga" && e.data.at("id").as_string() == id &&
            e.data.at("status").as_string() == status) {
          return true;
        }
      }
      return false;
    });
  }
  int heartbeats() const { return heartbeats_; }

 private:
  void read_more() {
    char piece[4096];
    boost::system::error_code ec;
    const auto n = socket_.read_some(asio::buffer(piece), ec);
    REQUIRE_MESSAGE(!ec, "the stream ended or stayed silent: " << ec.message());
    text_.append(piece, n);
    if (head_end_ == std::string::npos) {
      head_end_ = text_.find("\r\n\r\n");
      if (head_end_ != std::string::npos) parsed_ = head_end_ + 4;
    }
  }

  void parse() {
    for (auto end = text_.find("\n\n", parsed_); end != std::string::npos;
         end = text_.find("\n\n", parsed_)) {
      std::string_view block(text_.data() + parsed_, end - parsed_);
      parsed_ = end + 2;
      SseEvent e;
      while (!block.empty()) {
        const auto nl = block.find('\n');
        const auto line = block.substr(0, nl);
        block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
        if (line.starts_with(":")) ++heartbeats_;
        if (line.starts_with("event: ")) e.type = line.substr(7);
        if (line.starts_with("id: ")) e.id = std::stoull(std::string(line.substr(4)));
        if (line.starts_with("data: ")) e.data = json::parse(line.substr(6));
      }
      if (!e.type.empty()) events_.push_back(std::move(e));
    }
  }

  asio::io_context io_;
  tcp::socket socket_;
  std::string text_;
  std::size_t head_end_ = std::string::npos;
  std::size_t parsed_ = 0;
  std::vector<SseEvent> events_;
  int heartbeats_ = 0;
};

bool opened(const std::vector<SseEvent>& events) {
  return !events.empty() && events.front().type == "open";
}

std::string started_to_end(AdminWorld& world, const std::string& user) {
  Client client(world.endpoint());
  auto res =
      client.request(verb::post, "/api/sagas", registration(user, R"(, "wait": {"end": true})"));
  REQUIRE(res.result() == status::created);
  CHECK(body_of(res).at("status") == "completed");
  return std::string(body_of(res).at("id").as_string());
}

std::vector<SseEvent> of_saga(const std::vector<SseEvent>& events, const std::string& id) {
  std::vector<SseEvent> out;
  for (const auto& e : events) {
    if (e.type == "saga" && e.data.at("id").as_string() == id) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("over HTTP, an event stream receives the changes of a saga as they are committed") {
  AdminWorld world;
  EventClient stream(world.endpoint(), "/api/sagas/events");
  CHECK(stream.head().find("Content-Type: text/event-stream") != std::string::npos);
  stream.until(opened);  // registered: what is committed from now on comes

  const auto id = started_to_end(world, "watched");
  auto events = of_saga(stream.until_saga(id, "completed"), id);
  REQUIRE(events.size() >= 3);
  CHECK(events.front().data.at("records").at(0).at("kind") == "saga_started");
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].id > events[i - 1].id);
  CHECK(events.back().data.at("done_steps").as_array().size() >= 1);
}

TEST_CASE("over HTTP, event streams keep to their filters and resume after Last-Event-ID") {
  AdminWorld world({}, AdminOptions{.stream_heartbeat = 200ms});
  const auto first = started_to_end(world, "first");
  const auto second = started_to_end(world, "second");

  // last_event_id=0: every change the daemon still keeps (all of them here).
  std::vector<SseEvent> mine;
  {
    EventClient by_id(world.endpoint(), "/api/sagas/events?last_event_id=0&ids=" + second);
    mine = by_id.until_saga(second, "completed");
  }
  REQUIRE(mine.size() >= 3);
  CHECK(of_saga(mine, first).empty());
  CHECK(of_saga(mine, second).size() == mine.size() - 1);  // and the open event

  {
    EventClient completed(
        world.endpoint(),
        "/api/sagas/events?last_event_id=0&status=completed&flow=user_registration");
    auto events = completed.until_saga(second, "completed");
    std::size_t sagas = 0;
    for (const auto& e : events) {
      if (e.type != "saga") continue;
      ++sagas;
      CHECK(e.data.at("status") == "completed");
    }
    CHECK(sagas == 2);
  }
  {
    // Nothing admitted: the stream has nothing but its heartbeat to say.
    EventClient other(world.endpoint(), "/api/sagas/events?last_event_id=0&flow=coupon_issue");
    auto events = other.until([&](const auto&) { return other.heartbeats() > 0; });
    for (const auto& e : events) CHECK(e.type != "saga");
  }
  {
    const auto after = mine[1].id;  // mine[0] is the open event
    EventClient resumed(world.endpoint(), "/api/sagas/events?ids=" + second,
                        "Last-Event-ID: " + std::to_string(after) + "\r\n");
    auto events = of_saga(resumed.until_saga(second, "completed"), second);
    REQUIRE(events.size() == mine.size() - 2);
    CHECK(events.front().id == mine[2].id);
  }
}

TEST_CASE("over HTTP, a stream beyond the streams allowed at once is answered 503") {
  AdminWorld world({}, AdminOptions{.max_streams = 2});
  auto one = std::make_unique<EventClient>(world.endpoint(), "/api/sagas/events");
  EventClient two(world.endpoint(), "/api/sagas/events");
  one->until(opened);
  two.until(opened);
  EventClient three(world.endpoint(), "/api/sagas/events");
  REQUIRE(three.status() == 503);
  CHECK(three.json_body().at("error").at("code") == "unavailable");

  one.reset();  // its place is freed once the server sees it go
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    EventClient again(world.endpoint(), "/api/sagas/events");
    if (again.status() == 200) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace sagaflow::http::testing
