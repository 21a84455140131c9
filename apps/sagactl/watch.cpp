// `sagactl watch`: the sagas' changes as they are committed (GET /api/sagas/events).
#include <ostream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "admin.hpp"
#include "output.hpp"

namespace sagactl {
namespace {

const std::string kWatchUsage = with_admin_options(
    "usage: sagactl watch [--flow F] [--status S] [--since EVENT_ID] [--count N] [ID...]\n"
    "                     [OPTIONS]\n"
    "\n"
    "Prints each committed change of a saga as it happens, one line each:\n"
    "  TIME  ID  FLOW vVERSION  STATUS  #SAGA_VERSION  KIND STEP, KIND STEP...\n"
    "(the history records the change wrote). Runs until interrupted, or until N changes\n"
    "were printed. When the daemon no longer has some changes (the client fell behind, or\n"
    "--since names an event it does not keep), a line on stderr says so: list the sagas\n"
    "again.\n"
    "\n"
    "options:\n"
    "  --flow F            only sagas of flow F (F1,F2 for several)\n"
    "  --status S          only changes into status S (S1,S2 for several)\n"
    "  --since EVENT_ID    first the changes after that event id (0: every change the\n"
    "                      daemon still keeps)\n"
    "  --count N           exit 0 after N changes\n"
    "  ID...               only these sagas\n"
    "With --json each change is printed as the event's JSON (docs/admin-api.md), one line each.\n"
    "--http-timeout MS is how long the stream may stay silent (it has a heartbeat every 15 s;\n"
    "default 30000).\n",
    "\n"
    "Exit status: 0 after --count changes, 2 usage (or a filter the server refused),\n"
    "4 server unreachable, token refused, or the stream ended.\n");

// Server-Sent Events, as the pieces of the body arrive: an event ends at an empty line.
class EventReader {
 public:
  struct Event {
    std::string type = "message";
    std::string id;
    std::string data;
  };

  // Feeds a piece; calls `handle` per complete event, until it returns false.
  template <class Handle>
  bool feed(std::string_view piece, Handle&& handle) {
    pending_ += piece;
    std::size_t at = 0;
    for (auto end = pending_.find('\n', at); end != std::string::npos;
         end = pending_.find('\n', at)) {
      std::string_view line(pending_.data() + at, end - at);
      at = end + 1;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (line.empty()) {
        const bool go_on = event_.data.empty() && event_.id.empty() ? true : handle(event_);
        event_ = Event{};
        if (!go_on) return false;
        continue;
      }
      if (line.front() == ':') continue;  // a comment: the heartbeat
      const auto colon = line.find(':');
      auto field = line.substr(0, colon);
      auto value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
      if (field == "event") event_.type = value;
      if (field == "id") event_.id = value;
      if (field == "data") event_.data += (event_.data.empty() ? "" : "\n") + std::string(value);
    }
    pending_.erase(0, at);
    return true;
  }

 private:
  std::string pending_;
  Event event_;
};

std::string change_line(const boost::json::value& change) {
  std::string records;
  if (const auto* list = change.is_object() ? change.get_object().if_contains("records") : nullptr;
      list && list->is_array()) {
    for (const auto& r : list->get_array()) {
      if (!records.empty()) records += ", ";
      records += field_text(r, "kind");
      if (auto step = field_text(r, "step"); step != "-") records += " " + step;
    }
  }
  // Every field is escaped by field_text.
  return field_text(change, "at") + "  " + field_text(change, "id") + "  " +
         field_text(change, "flow") + " v" + field_text(change, "flow_version") + "  " +
         field_text(change, "status") + "  #" + field_text(change, "version") + "  " + records;
}

}  // namespace

int run_watch(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  std::optional<std::string> flow, status, since, count;
  ArgParser parser("watch", kWatchUsage);
  parser.value("--flow", flow)
      .value("--status", status)
      .value("--since", since)
      .value("--count", count);
  options.add_to(parser);
  if (auto code = parser.parse(args, ctx)) return *code;
  std::optional<long long> limit;
  if (count) {
    limit = parse_integer(*count, 1, 1'000'000'000);
    if (!limit) return parser.usage_error(ctx, "--count takes a number of changes, 1 or more");
  }
  if (since && !parse_integer(*since, 0, INT64_MAX)) {
    return parser.usage_error(ctx, "--since takes an event id (0 or more)");
  }
  std::string ids;
  for (const auto& id : parser.positional()) ids += (ids.empty() ? "" : ",") + id;
  auto admin = AdminClient::open(options, parser, ctx, "watch");
  if (!admin) return kExitUsage;

  std::string target = "/api/sagas/events";
  std::string sep = "?";
  auto add = [&](std::string_view name, const std::optional<std::string>& value) {
    if (!value || value->empty()) return;
    target += sep + std::string(name) + "=" + url_encode(*value);
    sep = "&";
  };
  add("flow", flow);
  add("status", status);
  add("ids", ids.empty() ? std::nullopt : std::optional<std::string>(ids));
  add("last_event_id", since);

  EventReader reader;
  long long printed = 0;
  bool ended = false;
  auto reply = admin->stream(
      target,
      [&](std::string_view piece) {
        return reader.feed(piece, [&](const EventReader::Event& event) {
          if (event.type == "open") return true;
          boost::system::error_code ec;
          auto data = boost::json::parse(event.data, ec);
          if (event.type == "gap") {
            ctx.err << admin->prefix() << "changes were missed (after event "
                    << field_text(data, "missed_after") << "): list the sagas again\n";
            if (admin->json()) {
              ctx.out << boost::json::serialize(boost::json::object{{"gap", data}}) << '\n';
            }
            return true;
          }
          if (event.type != "saga" || ec) return true;
          if (admin->json()) {
            ctx.out << boost::json::serialize(data) << '\n';
          } else {
            ctx.out << change_line(data) << '\n';
          }
          ctx.out.flush();
          return !limit || ++printed < *limit;
        });
      },
      ended);
  if (reply) {
    if (!reply->ok()) return admin->fail(*reply);
    return kExitOk;
  }
  if (!ended) return kExitUnavailable;  // printed why
  if (limit && printed >= *limit) return kExitOk;
  ctx.err << admin->prefix() << "the admin endpoint ended the stream\n";
  return kExitUnavailable;
}

}  // namespace sagactl
