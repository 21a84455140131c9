#pragma once
// The small codecs of the admin endpoint's wire format (docs/admin-api.md), apart from the
// routes so that each is tested on its own: RFC 3339 times, the list's cursor, query strings,
// W3C traceparent, the token compare, and strings from input made safe to write out.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sagaflow/engine/ports.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::http {

// "2026-11-23T10:00:00.000Z": UTC, always with milliseconds.
std::string format_time(Timestamp t);
// RFC 3339 date-time: "2026-11-23T10:00:00Z", with or without a fraction (cut to
// milliseconds), with "Z" or an offset ("+02:00"). nullopt for anything else.
std::optional<Timestamp> parse_time(std::string_view text);

// The list's `next`: where a page ended, as an opaque URL-safe string (base64url of the
// creation time in milliseconds and the saga id).
std::string encode_cursor(const SagaCursor& cursor);
std::optional<SagaCursor> decode_cursor(std::string_view text);

// Undoes %XX escapes (and, in a query string, '+' for a space); nullopt when one is broken.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// "a=1&b=x%20y" -> {a: "1", b: "x y"} ('+' is a space). nullopt when an escape is broken or a
// name repeats.
std::optional<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query);

// Whether `header` is a W3C traceparent of version 00 ("00-<32 hex>-<16 hex>-<2 hex>", ids
// not all zero).
bool valid_traceparent(std::string_view header);

// Compares a presented secret with the expected one in a time that depends only on the
// expected one's length, never on where they differ.
bool constant_time_equals(std::string_view presented, std::string_view expected);

// Replaces strings in `value`, at any depth (object keys aside), with their
// text::printable form: all of them (the daemon's log: no control character from input reaches
// a terminal through it), or only those that are not well-formed UTF-8 (an answer: JSON must
// be UTF-8, or no client can parse it).
enum class Strings { all, malformed };
void make_printable(json::value& value, Strings which);

}  // namespace sagaflow::http
