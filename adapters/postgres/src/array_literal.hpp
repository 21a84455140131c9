#pragma once
// PostgreSQL's text form of a one-dimensional array, built for a parameter ("$1::text[]"), never
// for SQL text: the set-based statements of commit() take one array per column. Text elements
// are always double-quoted, with `"` and `\` escaped by a backslash, so that commas, braces,
// spaces, quotes, backslashes, the word NULL and any UTF-8 stay data; add_null() is the one
// unquoted NULL. Integers are written bare. The connection's client_encoding is UTF8 (setup.cpp),
// where no byte of a multi-byte character is a quote or a backslash.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sagaflow::postgres {

class ArrayLiteral {
 public:
  ArrayLiteral& add(std::string_view value) {
    separate();
    text_ += '"';
    for (const char c : value) {
      // libpq passes parameters as C strings: a NUL would end the whole array. PostgreSQL's text
      // cannot hold one anyway; as with a single text parameter, the value ends there.
      if (c == '\0') break;
      if (c == '"' || c == '\\') text_ += '\\';
      text_ += c;
    }
    text_ += '"';
    return *this;
  }
  ArrayLiteral& add(const std::string& value) { return add(std::string_view(value)); }
  ArrayLiteral& add(const char* value) { return add(std::string_view(value)); }
  ArrayLiteral& add(const std::optional<std::string>& value) {
    return value ? add(std::string_view(*value)) : add_null();
  }
  ArrayLiteral& add(std::int64_t value) {
    separate();
    text_ += std::to_string(value);
    return *this;
  }
  ArrayLiteral& add(std::uint64_t value) {
    separate();
    text_ += std::to_string(value);
    return *this;
  }
  ArrayLiteral& add(int value) { return add(static_cast<std::int64_t>(value)); }
  ArrayLiteral& add_null() {
    separate();
    text_ += "NULL";
    return *this;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The literal, e.g. {"a","b \"c\"",NULL} or {1,2}; {} when empty.
  std::string str() const { return "{" + text_ + "}"; }

 private:
  void separate() {
    if (size_++ > 0) text_ += ',';
  }

  std::string text_;
  std::size_t size_ = 0;
};

}  // namespace sagaflow::postgres
