#pragma once
// Human output of the admin commands: aligned tables, "name  value" fields, JSON values as
// short text, and times from the admin endpoint (RFC 3339 UTC with milliseconds). Every text
// they print may come from a server or a flow file: control characters and bytes that are not
// UTF-8 come out escaped (sagaflow/text/printable.hpp), never raw to the terminal.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace sagactl {

// Columns separated by two spaces, each as wide as its widest cell; the last is not padded.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

// "name   value" lines, the values aligned.
std::string format_fields(const std::vector<std::pair<std::string, std::string>>& fields);

// A JSON value as text: strings without quotes, null as "-", the rest compact JSON; escaped;
// cut to `max_chars` (with "...") when longer, 0 for no limit.
std::string json_text(const boost::json::value& value, std::size_t max_chars = 0);

// The member `key` of an object as text ("-" when absent or null, or `value` not an object).
std::string field_text(const boost::json::value& value, std::string_view key);

// Milliseconds since the epoch of "2026-11-23T10:00:00.000Z" (fraction optional, 'Z' or an
// offset); nullopt when it is not such a time.
std::optional<long long> parse_time_ms(std::string_view text);

}  // namespace sagactl
