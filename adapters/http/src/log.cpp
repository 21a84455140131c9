#include "sagaflow/http/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "sagaflow/http/wire.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagaflow::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
std::function<void(std::string_view)> g_sink;  // guarded by g_mutex

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::optional<Level> parse_level(std::string_view name) {
  for (auto level : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (name == level_name(level)) return level;
  }
  return std::nullopt;
}

std::string format(Level level, std::string_view msg, std::initializer_list<Field> fields,
                   std::string_view ts) {
  json::object line;
  line.reserve(3 + fields.size());
  line["ts"] = ts;
  line["level"] = level_name(level);
  line["msg"] = text::printable(msg);
  for (const auto& f : fields) {
    if (f.key == "ts" || f.key == "level" || f.key == "msg") continue;
    // Any field may quote input (a path, a flow's name, an error about either).
    auto& value = line[f.key] = f.value;
    http::make_printable(value, http::Strings::all);
  }
  return json::serialize(line);
}

bool enabled(Level level) {
  return level >= g_level.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  const auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto text = format(level, msg, fields, http::format_time(now));
  std::lock_guard lock(g_mutex);
  if (g_sink) return g_sink(text);
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void set_level(Level level) {
  g_level = level;
}

void set_sink(std::function<void(std::string_view line)> sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

}  // namespace sagaflow::log
