// The admin endpoint's small codecs: times, cursors, query strings, traceparent; and the log.
#include <doctest/doctest.h>

#include <vector>

#include "sagaflow/http/log.hpp"
#include "sagaflow/http/wire.hpp"

using namespace sagaflow;
using namespace sagaflow::http;

TEST_CASE("times are written as RFC 3339 UTC with milliseconds and read back") {
  const auto t = from_millis(1'795'428'000'123);  // 2026-11-23T10:00:00.123Z
  CHECK(format_time(t) == "2026-11-23T10:00:00.123Z");
  CHECK(parse_time("2026-11-23T10:00:00.123Z") == t);
  CHECK(format_time(from_millis(0)) == "1970-01-01T00:00:00.000Z");
  CHECK(parse_time("2026-11-23T10:00:00Z") == from_millis(1'795'428'000'000));
  CHECK(parse_time("2026-11-23T12:00:00.123456+02:00") == t);
  CHECK(parse_time("2026-11-23t10:00:00.1z") == from_millis(1'795'428'000'100));
  for (const char* bad : {"", "2026-11-23", "2026-11-23T10:00:00", "2026-02-30T10:00:00Z",
                          "2026-11-23T24:00:00Z", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00Zx",
                          "2026-11-23T10:00:00+2:00", "yesterday"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time(bad));
  }
}

TEST_CASE("a cursor reads back as the saga it was made from, anything else is refused") {
  const SagaCursor cursor{from_millis(1'795'428'000'123), "0123abcd/x y"};
  const auto text = encode_cursor(cursor);
  CHECK(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  CHECK(decode_cursor(text) == cursor);
  for (const char* bad : {"", "!!", "a", "MTIz", "OmlkMQ", "eDppZA"}) {  // "123", ":id1", "x:id"
    CAPTURE(bad);
    CHECK_FALSE(decode_cursor(bad));
  }
}

TEST_CASE("query strings are split and unescaped, a repeated or broken one is refused") {
  auto q = parse_query("flow=order&key=a%20b+c&empty=&flag");
  REQUIRE(q);
  CHECK(q->at("flow") == "order");
  CHECK(q->at("key") == "a b c");
  CHECK(q->at("empty").empty());
  CHECK(q->at("flag").empty());
  CHECK_FALSE(parse_query("a=1&a=2"));
  CHECK_FALSE(parse_query("a=%2"));
  CHECK_FALSE(parse_query("a=%zz"));
  CHECK(parse_query("")->empty());
}

TEST_CASE("traceparent: version 00 with non-zero ids, lower-case hex") {
  CHECK(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  CHECK_FALSE(valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  CHECK_FALSE(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
  CHECK_FALSE(valid_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(valid_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  CHECK_FALSE(valid_traceparent(""));
}

TEST_CASE("a log line is one JSON object with ts, level and msg first") {
  const auto line = log::format(log::Level::warn, "admin request", {{"status", 404}, {"msg", "x"}},
                                "2026-11-23T10:00:00.000Z");
  CHECK(line ==
        R"({"ts":"2026-11-23T10:00:00.000Z","level":"warn","msg":"admin request","status":404})");

  std::vector<std::string> lines;
  log::set_sink([&](std::string_view l) { lines.emplace_back(l); });
  log::debug("hidden");  // below the default level
  log::info("shown", {{"flow", "order"}});
  log::set_sink({});
  REQUIRE(lines.size() == 1);
  auto parsed = json::parse(lines[0]);
  CHECK(parsed.at("level") == "info");
  CHECK(parsed.at("msg") == "shown");
  CHECK(parsed.at("flow") == "order");
  CHECK(parse_time(parsed.at("ts").as_string()));
}

TEST_CASE("a log line escapes control characters and bytes that are not UTF-8 in every field") {
  const auto line = log::format(
      log::Level::info, "admin request",
      {{"path", "/api/\x1b[2K"}, {"error", json::array{"bad \xff byte", 1}}, {"status", 400}},
      "2026-11-23T10:00:00.000Z");
  CHECK(line.find('\x1b') == std::string::npos);
  auto parsed = json::parse(line);  // valid UTF-8, or the parse fails
  CHECK(parsed.at("path") == "/api/\\x1b[2K");
  CHECK(parsed.at("error") == json::array{"bad \\xff byte", 1});
  CHECK(parsed.at("status") == 400);
}

TEST_CASE("make_printable escapes every string, or only those that are not UTF-8") {
  json::value value = {{"ok", "caf\xc3\xa9\n"}, {"bad", json::array{"\xfe"}}};
  auto malformed = value;
  make_printable(malformed, Strings::malformed);
  CHECK(malformed.at("ok") == "caf\xc3\xa9\n");
  CHECK(malformed.at("bad").at(0) == "\\xfe");
  make_printable(value, Strings::all);
  CHECK(value.at("ok") == "caf\xc3\xa9\\n");
  CHECK(value.at("bad").at(0) == "\\xfe");
}
