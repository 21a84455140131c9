// GET /api/sagas/events: the sagas' committed changes as Server-Sent Events (docs/admin-api.md,
// "Watching sagas"). The stream is a cursor into the SagaChangeFeed's ring and a filter: it
// holds no queue of its own, so a slow client costs no memory (it gets a `gap` event instead).
#include "admin_events.hpp"

#include "sagaflow/http/wire.hpp"
#include "sagaflow/text/utf8.hpp"

namespace sagaflow::http {
namespace {

constexpr std::size_t kBatch = 256;  // events per write: what a stream holds in memory at most

std::string event_text(std::string_view event, std::uint64_t id, const json::value& data) {
  auto text = json::serialize(data);
  if (text::first_invalid_utf8(text)) {
    auto safe = data;
    make_printable(safe, Strings::malformed);
    text = json::serialize(safe);
  }
  // JSON text has no raw newline: one data line.
  return "id: " + std::to_string(id) + "\nevent: " + std::string(event) + "\ndata: " + text +
         "\n\n";
}

}  // namespace

json::object change_json(const SagaChange& change) {
  json::array records;
  for (const auto& r : change.records) {
    records.push_back(json::object{
        {"kind", r.kind}, {"step", r.step.empty() ? json::value(nullptr) : json::value(r.step)}});
  }
  json::array done;
  for (const auto& step : change.done_steps) done.push_back(json::value(step));
  return json::object{{"seq", change.id},
                      {"id", change.saga_id},
                      {"flow", change.flow},
                      {"flow_version", change.flow_version},
                      {"status", change.status},
                      {"version", change.version},
                      {"at", format_time(change.at)},
                      {"records", std::move(records)},
                      {"done_steps", std::move(done)}};
}

EventStream open_event_stream(SagaChangeFeed& feed, ChangeFilter filter,
                              std::optional<std::uint64_t> resume_after,
                              std::shared_ptr<void> place, std::chrono::milliseconds heartbeat) {
  struct Cursor {
    ChangeFilter filter;
    std::uint64_t after = 0;
    bool opened = false;
  };
  auto cursor = std::make_shared<Cursor>(
      Cursor{std::move(filter), resume_after.value_or(feed.last_id()), false});
  std::string head =
      "HTTP/1.1 200 OK\r\n"
      "Server: sagaflow\r\n"
      "Content-Type: text/event-stream; charset=utf-8\r\n"
      "Cache-Control: no-store\r\n"
      "X-Accel-Buffering: no\r\n"
      "Connection: close\r\n"
      "\r\n"
      "retry: 1000\n\n";
  auto next = [&feed, cursor]() -> std::string {
    std::string out;
    if (!cursor->opened) {
      cursor->opened = true;
      out += event_text("open", cursor->after, json::object{{"seq", cursor->after}});
    }
    auto read = feed.read_after(cursor->after, cursor->filter, kBatch);
    if (read.gap) {
      out += event_text(
          "gap", read.next,
          json::object{
              {"missed_after", cursor->after}, {"oldest", read.oldest}, {"seq", read.next}});
    }
    for (const auto& change : read.changes) {
      out += event_text("saga", change.id, change_json(change));
    }
    cursor->after = read.next;
    return out;
  };
  auto wake_on = [&feed](std::function<void()> wake) { return feed.watch(std::move(wake)); };
  return EventStream(std::move(head), std::move(next), std::move(wake_on), std::move(place),
                     heartbeat);
}

}  // namespace sagaflow::http
