#include "admin.hpp"

#include <fstream>
#include <iterator>
#include <ostream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// One entry of an error's details: a string as it is, an object's "message" (a refused input's
// problem names its path there), anything else as JSON.
std::string detail_text(const boost::json::value& detail) {
  if (detail.is_string()) return std::string(detail.get_string());
  const auto* object = detail.if_object();
  const auto* message = object ? object->if_contains("message") : nullptr;
  if (message != nullptr && message->is_string()) return std::string(message->get_string());
  return boost::json::serialize(detail);
}

}  // namespace

void AdminOptions::add_to(ArgParser& parser) {
  parser.value("--url", url)
      .value("--token-file", token_file)
      .value("--http-timeout", http_timeout)
      .flag("--json", json);
}

int exit_status_for_http(int status) {
  if (status >= 200 && status < 300) return kExitOk;
  switch (status) {
    case 400:
      return kExitUsage;
    case 404:
      return kExitNotFound;
    case 409:
    case 413:
    case 422:
      return kExitFailure;
    default:
      return kExitUnavailable;  // 401, 403, 405, 5xx, anything unexpected
  }
}

std::string error_text(const boost::json::value& body) {
  const auto* object = body.if_object();
  const auto* error = object ? object->if_contains("error") : nullptr;
  if (error == nullptr || !error->is_object()) {
    return sagaflow::text::printable(boost::json::serialize(body));
  }
  const auto& e = error->get_object();
  std::string out;
  if (const auto* code = e.if_contains("code"); code && code->is_string()) {
    out = std::string(code->get_string());
  }
  if (const auto* message = e.if_contains("message"); message && message->is_string()) {
    out += (out.empty() ? "" : ": ") + std::string(message->get_string());
  }
  return sagaflow::text::printable(out.empty() ? boost::json::serialize(*error) : out);
}

std::optional<AdminClient> AdminClient::open(const AdminOptions& options, const ArgParser& parser,
                                             Context& ctx, std::string_view command) {
  std::string url =
      options.url.value_or(ctx.env("SAGAFLOW_ADMIN_URL").value_or(std::string(kDefaultAdminUrl)));
  std::string problem;
  auto endpoint = parse_url(url, problem);
  if (!endpoint) {
    parser.usage_error(ctx, "bad URL '" + url + "': " + problem);
    return std::nullopt;
  }
  std::optional<std::string> token;
  if (options.token_file) {
    std::ifstream in(*options.token_file, std::ios::binary);
    if (!in) {
      parser.usage_error(ctx, "cannot read the token file '" + *options.token_file + "'");
      return std::nullopt;
    }
    token = trim(std::string(std::istreambuf_iterator<char>(in), {}));
    if (token->empty()) {
      parser.usage_error(ctx, "the token file '" + *options.token_file + "' is empty");
      return std::nullopt;
    }
  } else if (auto from_env = ctx.env("SAGAFLOW_ADMIN_TOKEN")) {
    token = trim(*from_env);
    if (token->empty()) token.reset();
  }
  if (token && token->find_first_of("\r\n") != std::string::npos) {
    parser.usage_error(ctx, "the token spans several lines");
    return std::nullopt;
  }
  auto timeout = kDefaultHttpTimeout;
  if (options.http_timeout) {
    auto ms = parse_integer(*options.http_timeout, 1, 24LL * 3600 * 1000);
    if (!ms) {
      parser.usage_error(ctx, "--http-timeout takes milliseconds, e.g. 30000");
      return std::nullopt;
    }
    timeout = std::chrono::milliseconds(*ms);
  }
  return AdminClient(ctx, std::string(command), std::move(*endpoint), std::move(token), timeout,
                     options.json);
}

std::optional<AdminReply> AdminClient::call(const std::string& method, const std::string& target,
                                            std::string body, std::string content_type,
                                            std::optional<std::chrono::milliseconds> timeout) {
  HttpRequest request{.method = method,
                      .target = target,
                      .body = std::move(body),
                      .content_type = std::move(content_type)};
  return exchange(request,
                  [&] { return http_request(endpoint_, request, timeout.value_or(timeout_)); });
}

std::optional<AdminReply> AdminClient::stream(
    const std::string& target, const std::function<bool(std::string_view piece)>& on_data,
    bool& ended) {
  HttpRequest request{.method = "GET", .target = target};
  ended = false;
  bool opened = false;
  auto reply = exchange(request, [&] {
    auto response = http_stream(endpoint_, request, timeout_, on_data);
    opened = response.status >= 200 && response.status < 300;
    return response;
  });
  if (!opened) return reply;
  ended = true;
  return std::nullopt;
}

std::optional<AdminReply> AdminClient::exchange(HttpRequest& request,
                                                const std::function<HttpResponse()>& send) {
  if (token_) request.headers.emplace_back("Authorization", "Bearer " + *token_);
  request.headers.insert(request.headers.end(), headers_.begin(), headers_.end());
  HttpResponse response;
  try {
    response = send();
    if (response.status >= 200 && response.status < 300 &&
        response.content_type.starts_with("text/event-stream")) {
      return AdminReply{.status = response.status};
    }
  } catch (const HttpError& e) {
    switch (e.kind) {
      case HttpError::Kind::connect:
        ctx_.err << prefix() << "cannot reach the admin endpoint at " << endpoint_.url << ": "
                 << e.what() << '\n';
        break;
      case HttpError::Kind::timeout:
        ctx_.err << prefix() << "the admin endpoint at " << endpoint_.url
                 << " did not answer: " << e.what() << '\n';
        break;
      case HttpError::Kind::protocol:
        ctx_.err << prefix() << "bad answer from the admin endpoint at " << endpoint_.url << ": "
                 << e.what() << '\n';
        break;
    }
    return std::nullopt;
  }
  AdminReply reply{.status = response.status, .body = std::move(response.body)};
  boost::system::error_code ec;
  reply.json = boost::json::parse(reply.body, ec);
  if (ec) {
    const std::string excerpt = sagaflow::text::printable(reply.body.substr(0, 120));
    ctx_.err << prefix() << "bad answer from the admin endpoint at " << endpoint_.url << ": HTTP "
             << reply.status << " with a body that is not JSON"
             << (excerpt.empty() ? std::string(" (empty)") : ": " + excerpt) << '\n';
    if (reply.status == 401 || reply.status == 403) {
      ctx_.err << prefix() << "the token was refused\n";
    }
    return std::nullopt;
  }
  if (!reply.json.is_object()) {
    ctx_.err << prefix() << "bad answer from the admin endpoint at " << endpoint_.url << ": HTTP "
             << reply.status << " with a JSON body that is not an object\n";
    return std::nullopt;
  }
  return reply;
}

int AdminClient::fail(const AdminReply& reply) const {
  if (json_) print_body(reply);
  ctx_.err << prefix();
  if (reply.status == 401 || reply.status == 403) {
    ctx_.err << "the admin endpoint refused the request (HTTP " << reply.status
             << "): " << error_text(reply.json) << '\n';
    if (!token_) {
      ctx_.err << prefix() << "no token was given: use --token-file FILE or SAGAFLOW_ADMIN_TOKEN\n";
    }
    return exit_status_for_http(reply.status);
  }
  ctx_.err << error_text(reply.json) << " (HTTP " << reply.status << ")\n";
  const auto* object = reply.json.if_object();
  const auto* error = object ? object->if_contains("error") : nullptr;
  const auto* details =
      error && error->is_object() ? error->get_object().if_contains("details") : nullptr;
  if (details != nullptr && !details->is_null()) {
    if (details->is_array()) {
      for (const auto& detail : details->get_array()) {
        ctx_.err << "  " << sagaflow::text::printable(detail_text(detail)) << '\n';
      }
    } else {
      ctx_.err << "  " << sagaflow::text::printable(boost::json::serialize(*details)) << '\n';
    }
  }
  return exit_status_for_http(reply.status);
}

void AdminClient::print_body(const AdminReply& reply) const {
  ctx_.out << reply.body;
  if (!reply.body.ends_with('\n')) ctx_.out << '\n';
}

}  // namespace sagactl
