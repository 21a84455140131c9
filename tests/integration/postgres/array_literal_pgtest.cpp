// The array literal encoder of the set-based commit (adapters/postgres/src/array_literal.hpp):
// its exact text, and every awkward value read back unchanged by the server, element by element.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "../../../adapters/postgres/src/array_literal.hpp"
#include "integration/postgres/pg.hpp"
#include "sagaflow/postgres/session.hpp"

namespace {

using namespace sagaflow::postgres;
using namespace sagaflow::postgres::testing;

const std::vector<std::optional<std::string>> kAwkward = {
    "plain",
    "",
    " spaces around ",
    "a,b,c",
    "{braces}",
    "}",
    "{",
    "\"quoted\"",
    "\"",
    "back\\slash",
    "\\",
    "\\\"",
    "trailing backslash\\",
    "NULL",
    "null",
    std::nullopt,
    "'single'; DROP TABLE sagas; --",
    "tab\tnew\nline\r",
    "é ü 日本語 🙂",
    R"({"cursor":1,"data":{"x":"é \"quoted\"","y":"a\\b","z":[1,{}]}})",
    "()[]:=$1::text[]",
};

}  // namespace

TEST_CASE("array literal: quoting and escaping") {
  CHECK(ArrayLiteral().str() == "{}");
  CHECK(ArrayLiteral().empty());
  CHECK(ArrayLiteral().add("a").add("").str() == R"({"a",""})");
  CHECK(ArrayLiteral().add("a,b").add("{c}").str() == R"({"a,b","{c}"})");
  CHECK(ArrayLiteral().add("say \"hi\"").add("a\\b").str() == R"({"say \"hi\"","a\\b"})");
  CHECK(ArrayLiteral().add("NULL").add_null().str() == R"({"NULL",NULL})");
  CHECK(
      ArrayLiteral().add(std::optional<std::string>()).add(std::optional<std::string>("x")).str() ==
      R"({NULL,"x"})");
  CHECK(ArrayLiteral().add("é").str() == "{\"é\"}");
  CHECK(ArrayLiteral()
            .add(std::int64_t{-1})
            .add(std::uint64_t{18446744073709551615ull})
            .add(7)
            .str() == "{-1,18446744073709551615,7}");
  CHECK(ArrayLiteral().add(std::string("ab\0cd", 5)).str() == R"({"ab"})");
  CHECK(ArrayLiteral().add("x").add("y").size() == 2);
}

TEST_CASE("array literal: the server reads every awkward value back unchanged") {
  Scratch scratch;
  Session session(scratch.options());
  ArrayLiteral text;
  for (const auto& v : kAwkward) text.add(v);
  const auto rows = session.query(
      "SELECT v, v IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i",
      {text.str()});
  REQUIRE(rows.size() == kAwkward.size());
  for (std::size_t i = 0; i < kAwkward.size(); ++i) {
    CAPTURE(i);
    CHECK(rows[i][0] == kAwkward[i]);
    CHECK(rows[i][1] == std::optional<std::string>(kAwkward[i] ? "f" : "t"));
  }
  // As jsonb too, the way saga states travel.
  const auto json = session.scalar("SELECT (unnest($1::text[]))::jsonb ->> 'cursor'",
                                   {ArrayLiteral().add(*kAwkward[19]).str()});
  CHECK(json == std::optional<std::string>("1"));
  // Integers, and the empty array.
  CHECK(
      session.scalar("SELECT sum(x)::text FROM unnest($1::bigint[]) AS x",
                     {ArrayLiteral().add(std::int64_t{-5}).add(std::int64_t{9000000000}).str()}) ==
      std::optional<std::string>("8999999995"));
  CHECK(session.scalar("SELECT count(*) FROM unnest($1::text[])", {ArrayLiteral().str()}) ==
        std::optional<std::string>("0"));
}
