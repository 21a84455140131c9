#include "output.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json/serialize.hpp>

#include "sagaflow/text/printable.hpp"

namespace sagactl {

std::string format_table(const std::vector<std::string>& raw_header,
                         const std::vector<std::vector<std::string>>& raw_rows) {
  auto escape = [](std::vector<std::string> row) {
    for (auto& cell : row) cell = sagaflow::text::printable(cell);
    return row;
  };
  const auto header = escape(raw_header);
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw_rows.size());
  for (const auto& row : raw_rows) rows.push_back(escape(row));
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : std::string();
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (line.ends_with(' ')) line.pop_back();
    out += line + '\n';
  };
  print(header);
  for (const auto& row : rows) print(row);
  return out;
}

std::string format_fields(const std::vector<std::pair<std::string, std::string>>& raw_fields) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [name, value] : raw_fields) {
    fields.emplace_back(sagaflow::text::printable(name), sagaflow::text::printable(value));
  }
  std::size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  std::string out;
  for (const auto& [name, value] : fields) {
    out += name + std::string(width - name.size() + 2, ' ') + value + '\n';
  }
  return out;
}

std::string json_text(const boost::json::value& value, std::size_t max_chars) {
  std::string text;
  if (value.is_null()) {
    text = "-";
  } else if (value.is_string()) {
    text = std::string(value.get_string());
  } else {
    text = boost::json::serialize(value);
  }
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  text = sagaflow::text::printable(text);
  if (max_chars > 3 && text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

std::string field_text(const boost::json::value& value, std::string_view key) {
  const auto* object = value.if_object();
  const auto* member = object ? object->if_contains(key) : nullptr;
  return member ? json_text(*member) : "-";
}

namespace {

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

}  // namespace

std::optional<long long> parse_time_ms(std::string_view text) {
  auto digits = [&](std::size_t at, std::size_t count) -> std::optional<long long> {
    if (at + count > text.size()) return std::nullopt;
    long long value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto at = [&](std::size_t i, char c) { return i < text.size() && text[i] == c; };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !at(4, '-') || !at(7, '-') ||
      !(at(10, 'T') || at(10, 't') || at(10, ' ')) || !at(13, ':') || !at(16, ':') || *month < 1 ||
      *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  long long ms = 0;
  if (at(i, '.')) {
    ++i;
    long long scale = 100;
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      ms += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  long long offset_minutes = 0;
  if (at(i, 'Z') || at(i, 'z')) {
    ++i;
  } else if (at(i, '+') || at(i, '-')) {
    auto oh = digits(i + 1, 2), om = digits(i + 4, 2);
    if (!oh || !om || !at(i + 3, ':')) return std::nullopt;
    offset_minutes = (*oh * 60 + *om) * (text[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  const long long days =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  const long long seconds =
      days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_minutes * 60;
  return seconds * 1000 + ms;
}

}  // namespace sagactl
