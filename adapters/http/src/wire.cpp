#include "sagaflow/http/wire.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "sagaflow/text/printable.hpp"

namespace sagaflow::http {
namespace {

namespace chrono = std::chrono;

// Reads exactly `width` digits at `pos`; -1 when they are not all digits.
int digits(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kBase64Url[(v >> shift) & 63]);
  }
  const auto rest = in.size() - i;
  if (rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kBase64Url[(v >> 18) & 63]);
    out.push_back(kBase64Url[(v >> 12) & 63]);
    if (rest == 2) out.push_back(kBase64Url[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (char c : in) {
    const auto index = kBase64Url.find(c);
    if (index == std::string_view::npos) return std::nullopt;
    bits = bits << 6 | static_cast<unsigned>(index);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  // The unused low bits of the last character must be zero: one text per cursor.
  if ((bits & ((1u << count) - 1)) != 0) return std::nullopt;
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int high = hex_value(in[i + 1]);
      const int low = hex_value(in[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

namespace {

bool lower_hex(std::string_view s) {
  bool nonzero = false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    nonzero = nonzero || c != '0';
  }
  return nonzero;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Times

std::string format_time(Timestamp t) {
  const auto day = chrono::floor<chrono::days>(t);
  const chrono::year_month_day date{day};
  const chrono::hh_mm_ss time{t - day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return text;
}

std::optional<Timestamp> parse_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z or an offset.
  const int year = digits(text, 0, 4);
  const int month = digits(text, 5, 2);
  const int day = digits(text, 8, 2);
  const int hour = digits(text, 11, 2);
  const int minute = digits(text, 14, 2);
  const int second = digits(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return {};
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    return std::nullopt;
  }
  const chrono::year_month_day date{chrono::year{year}, chrono::month{static_cast<unsigned>(month)},
                                    chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;

  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t count = 0;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++count) {
      if (count < 3) millis = millis * 10 + (text[pos] - '0');
    }
    if (count == 0) return std::nullopt;
    for (; count < 3; ++count) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    const int oh = digits(text, pos + 1, 2);
    const int om = digits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || text[pos + 3] != ':' || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const auto local = chrono::sys_days{date} + chrono::hours{hour} + chrono::minutes{minute} +
                     chrono::seconds{second} + chrono::milliseconds{millis};
  return chrono::time_point_cast<Duration>(local - chrono::minutes{offset_minutes});
}

// ---------------------------------------------------------------------------------------------
// Cursor

std::string encode_cursor(const SagaCursor& cursor) {
  return base64url_encode(std::to_string(to_millis(cursor.created_at)) + ":" + cursor.id);
}

std::optional<SagaCursor> decode_cursor(std::string_view text) {
  auto plain = base64url_decode(text);
  if (!plain) return std::nullopt;
  const auto colon = plain->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == plain->size()) return {};
  std::int64_t millis = 0;
  const auto* first = plain->data();
  const auto* last = plain->data() + colon;
  auto [end, ec] = std::from_chars(first, last, millis);
  if (ec != std::errc{} || end != last) return std::nullopt;
  return SagaCursor{from_millis(millis), plain->substr(colon + 1)};
}

// ---------------------------------------------------------------------------------------------
// Query strings, traceparent, secrets

std::optional<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    auto value = percent_decode(
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    if (!out.emplace(std::move(*name), std::move(*value)).second) return std::nullopt;
  }
  return out;
}

bool valid_traceparent(std::string_view h) {
  return h.size() == 55 && h.substr(0, 3) == "00-" && h[35] == '-' && h[52] == '-' &&
         lower_hex(h.substr(3, 32)) && lower_hex(h.substr(36, 16)) &&
         (lower_hex(h.substr(53, 2)) || h.substr(53, 2) == "00");
}

bool constant_time_equals(std::string_view presented, std::string_view expected) {
  // Every byte of `expected` is visited whatever `presented` holds, and differences are
  // accumulated without a branch on them.
  volatile unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto p = static_cast<unsigned char>(i < presented.size() ? presented[i] : 0);
    diff = diff | static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0 && !expected.empty();
}

void make_printable(json::value& value, Strings which) {
  if (auto* s = value.if_string()) {
    if (which == Strings::all || text::first_invalid_utf8(*s)) *s = text::printable(*s);
  } else if (auto* a = value.if_array()) {
    for (auto& item : *a) make_printable(item, which);
  } else if (auto* o = value.if_object()) {
    for (auto& member : *o) make_printable(member.value(), which);
  }
}

}  // namespace sagaflow::http
