// sagactl's human output: tables, fields, JSON values as text, times and durations.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "flow_diagram.hpp"
#include "output.hpp"

using namespace sagactl;
namespace json = boost::json;

TEST_CASE("a table aligns each column on its widest cell and does not pad the last") {
  CHECK(format_table({"ID", "STATUS", "KEY"}, {{"a", "completed", "k1"}, {"bbbb", "failed", ""}}) ==
        "ID    STATUS     KEY\n"
        "a     completed  k1\n"
        "bbbb  failed\n");
  CHECK(format_table({"A"}, {}) == "A\n");
}

TEST_CASE("fields align their values") {
  CHECK(format_fields({{"saga", "x"}, {"status", "running"}}) ==
        "saga    x\n"
        "status  running\n");
}

TEST_CASE("JSON values as text: strings bare, null as '-', the rest compact, cut when long") {
  CHECK(json_text(json::value("abc")) == "abc");
  CHECK(json_text(json::value(nullptr)) == "-");
  CHECK(json_text(json::value(42)) == "42");
  CHECK(json_text(json::parse(R"({"a": [1, 2]})")) == R"({"a":[1,2]})");
  CHECK(json_text(json::value("line\nbreak")) == "line break");
  CHECK(json_text(json::value("0123456789"), 8) == "01234...");
  const auto saga = json::parse(R"({"id": "x", "key": null})");
  CHECK(field_text(saga, "id") == "x");
  CHECK(field_text(saga, "key") == "-");
  CHECK(field_text(saga, "missing") == "-");
  CHECK(field_text(json::value(3), "id") == "-");
}

TEST_CASE("RFC 3339 times become milliseconds since the epoch") {
  CHECK(parse_time_ms("1970-01-01T00:00:00.000Z") == 0);
  CHECK(parse_time_ms("1970-01-01T00:00:01Z") == 1000);
  CHECK(parse_time_ms("2026-11-23T10:00:00.004Z") == 1795428000004LL);
  CHECK(parse_time_ms("2026-11-23T11:00:00.004+01:00") == 1795428000004LL);
  CHECK(parse_time_ms("2000-02-29T00:00:00.5Z") == 951782400500LL);
  CHECK(!parse_time_ms("2026-11-23 10:00"));
  CHECK(!parse_time_ms("2026-13-01T00:00:00Z"));
  CHECK(!parse_time_ms("2026-11-23T10:00:00.Z"));
  CHECK(!parse_time_ms("2026-11-23T10:00:00.000"));
  CHECK(!parse_time_ms("2026-11-23T10:00:00.000Zjunk"));
}

TEST_CASE("durations are written the way flow files write them") {
  using std::chrono::milliseconds;
  CHECK(format_duration(milliseconds(0)) == "0s");
  CHECK(format_duration(milliseconds(250)) == "250ms");
  CHECK(format_duration(milliseconds(5'000)) == "5s");
  CHECK(format_duration(milliseconds(90'000)) == "1m30s");
  CHECK(format_duration(milliseconds(15 * 60'000)) == "15m");
  CHECK(format_duration(milliseconds(3 * 86'400'000LL)) == "3d");
  CHECK(format_duration(milliseconds(3'600'000 + 1'250)) == "1h1s250ms");
}

TEST_CASE("tables, fields and JSON text escape control characters and bytes that are not UTF-8") {
  CHECK(format_table({"ID", "KEY"}, {{"a\x1b[2K", "k\xff"}}) ==
        "ID        KEY\na\\x1b[2K  k\\xff\n");
  CHECK(format_fields({{"step\x07", "v\x1b"}}) == "step\\x07  v\\x1b\n");
  CHECK(json_text(json::value("caf\xc3\xa9\x1b[2K\xc2\x9b")) == "caf\xc3\xa9\\x1b[2K\\xc2\\x9b");
  CHECK(json_text(json::value("two\nlines")) == "two lines");
}
