#include "sagaflow/http/dashboard.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

namespace sagaflow::http {
namespace {

using beast_http::field;
using beast_http::status;
using beast_http::verb;

constexpr std::string_view kUi = "/ui/";
constexpr std::string_view kSagaPages = "/sagas/";

// A strong validator: FNV-1a of the bytes, as 16 hex digits in quotes.
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : bytes) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag(18, '"');
  for (int i = 16; i >= 1; --i, h >>= 4) tag[static_cast<std::size_t>(i)] = kHex[h & 0xf];
  return tag;
}

struct Served {
  const EmbeddedFile* file;
  std::string etag;
};

// Each embedded file with its ETag, computed once.
const std::vector<Served>& served_files() {
  static const std::vector<Served> files = [] {
    std::vector<Served> out;
    for (const auto& f : embedded_dashboard_files()) out.push_back(Served{&f, etag_of(f.bytes)});
    return out;
  }();
  return files;
}

const Served* find_served(std::string_view name) {
  const auto& files = served_files();
  auto it = std::find_if(files.begin(), files.end(),
                         [&](const Served& s) { return s.file->name == name; });
  return it == files.end() ? nullptr : &*it;
}

// Whether If-None-Match names this tag (or is "*"); weak tags compare by their opaque part.
bool matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    auto tag = if_none_match.substr(0, comma);
    if_none_match =
        comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

void secure(Response& res) {
  res.set(field::server, "sagaflow");
  res.set("Content-Security-Policy", kDashboardPolicy);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
}

Response serve(const Request& request, const Served& served) {
  const bool head = request.method() == verb::head;
  const auto& file = *served.file;
  Response res{status::ok, request.version()};
  secure(res);
  res.set(field::cache_control, "no-cache");
  res.set(field::etag, served.etag);
  res.keep_alive(request.keep_alive());
  if (matches(request[field::if_none_match], served.etag)) {
    res.result(status::not_modified);
    return res;  // no body, no length: RFC 9110 15.4.5
  }
  res.set(field::content_type, content_type_of(file.name));
  if (head) {
    res.content_length(file.bytes.size());  // the GET's length, no body
  } else {
    res.body().assign(file.bytes.data(), file.bytes.size());
    res.prepare_payload();
  }
  return res;
}

Response refuse(const Request& request, status s, std::string_view code, std::string message) {
  auto res = error_response(s, code, message, request.version(), request.keep_alive());
  secure(res);
  return res;
}

}  // namespace

const EmbeddedFile* find_dashboard_file(std::string_view name) {
  const auto* served = find_served(name);
  return served ? served->file : nullptr;
}

std::string_view content_type_of(std::string_view name) {
  const auto dot = name.rfind('.');
  const auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "js") return "text/javascript; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "json") return "application/json";
  if (ext == "png") return "image/png";
  return "application/octet-stream";
}

std::optional<Response> dashboard_response(const Request& request, std::string_view path) {
  // Which file the path names; empty when it is a dashboard route with no such file.
  std::string_view name;
  if (path == "/") {
    name = "index.html";
  } else if (path == "/audit") {
    name = "audit.html";
  } else if (path == "/services") {
    name = "services.html";
  } else if (path == "/schedules") {
    name = "schedules.html";
  } else if (path.starts_with(kSagaPages)) {
    const auto id = path.substr(kSagaPages.size());
    if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
    name = "saga.html";
  } else if (path.starts_with(kUi)) {
    name = path.substr(kUi.size());
  } else {
    return std::nullopt;
  }

  const auto method = request.method();
  if (method != verb::get && method != verb::head) {
    auto res = refuse(request, status::method_not_allowed, "method_not_allowed",
                      std::string(request.method_string()) + " is not allowed on " +
                          std::string(path) + " (allowed: GET, HEAD)");
    res.set(field::allow, "GET, HEAD");
    return res;
  }
  const auto* served = name.find('/') == std::string_view::npos ? find_served(name) : nullptr;
  if (served == nullptr) {
    return refuse(request, status::not_found, "not_found",
                  "the dashboard has no file " + std::string(path));
  }
  return serve(request, *served);
}

}  // namespace sagaflow::http
