#pragma once
// sagaflowd's log: one JSON object per line on stderr,
//
//   {"ts":"2026-11-23T10:00:00.000Z","level":"info","msg":"admin endpoint listening","url":"..."}
//
// so that a collector parses every line without guessing. Used by the daemon and by the http
// adapter; whatever might carry a secret (an admin token, a URL's password) is never passed in.
//
// Threading: every function is safe from any thread; a line is written whole.
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sagaflow/json.hpp"

namespace sagaflow::log {

enum class Level { debug, info, warn, error };

// One field of a line after ts, level and msg (which a field never replaces).
struct Field {
  template <class T>
  Field(std::string_view key, T&& value) : key(key), value(std::forward<T>(value)) {}
  std::string_view key;
  json::value value;
};

// The JSON text of one line, without its newline (for tests and sinks).
std::string format(Level level, std::string_view msg, std::initializer_list<Field> fields,
                   std::string_view ts);

void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::debug, msg, fields);
}
inline void info(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::info, msg, fields);
}
inline void warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::warn, msg, fields);
}
inline void error(std::string_view msg, std::initializer_list<Field> fields = {}) {
  write(Level::error, msg, fields);
}

// Lines below `level` are dropped (default: info).
void set_level(Level level);
// Whether a line of `level` is written now.
bool enabled(Level level);
// "debug", "info", "warn" or "error"; nullopt for anything else.
std::optional<Level> parse_level(std::string_view name);
const char* level_name(Level level);
// Where lines go (default: stderr); each call gets one line without its newline. An empty
// function restores stderr. For tests.
void set_sink(std::function<void(std::string_view line)> sink);

}  // namespace sagaflow::log
