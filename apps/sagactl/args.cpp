#include "args.hpp"

#include <charconv>
#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>

namespace sagactl {

ArgParser& ArgParser::flag(std::string_view name, bool& target) {
  options_.push_back(Option{.name = name, .flag = &target});
  return *this;
}

ArgParser& ArgParser::value(std::string_view name, std::optional<std::string>& target) {
  options_.push_back(Option{.name = name, .value = &target});
  return *this;
}

const ArgParser::Option* ArgParser::find(std::string_view name) const {
  for (const auto& option : options_) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

std::optional<int> ArgParser::parse(std::span<const std::string_view> args, Context& ctx) {
  positional_.clear();
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (options_done || !arg.starts_with("-") || arg == "-") {
      positional_.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      ctx.out << usage_;
      return kExitOk;
    }
    const auto equals = arg.find('=');
    const std::string_view name = arg.substr(0, equals);
    const Option* option = find(name);
    if (option == nullptr) return usage_error(ctx, "unknown option '" + std::string(name) + "'");
    if (option->flag != nullptr) {
      if (equals != std::string_view::npos) {
        return usage_error(ctx, "option '" + std::string(name) + "' takes no value");
      }
      *option->flag = true;
      continue;
    }
    if (equals != std::string_view::npos) {
      *option->value = std::string(arg.substr(equals + 1));
    } else if (i + 1 < args.size()) {
      *option->value = std::string(args[++i]);
    } else {
      return usage_error(ctx, "option '" + std::string(name) + "' needs a value");
    }
  }
  return std::nullopt;
}

int ArgParser::usage_error(Context& ctx, std::string_view message) const {
  ctx.err << "sagactl " << command_ << ": " << message << '\n' << usage_;
  return kExitUsage;
}

std::optional<long long> parse_integer(std::string_view text, long long min, long long max) {
  long long value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> argument_text(const std::string& value, std::string_view option,
                                         Context& ctx, std::string& problem) {
  if (!value.starts_with('@')) return value;
  const std::string file = value.substr(1);
  if (file == "-") {
    if (ctx.in == nullptr) {
      problem = "no stdin to read " + std::string(option) + " from";
      return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(*ctx.in), {});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    problem = "cannot read the " + std::string(option) + " file '" + file + "'";
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace sagactl
