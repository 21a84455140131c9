#include "http_client.hpp"

#include <cctype>
#include <charconv>
#include <memory>

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace sagactl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// An answer larger than this is not one the admin endpoint gives (a page is at most 500 sagas).
constexpr std::uint64_t kMaxBody = 64ull << 20;

// ------------------------------------------------------------------------------------------------
// One exchange: resolve, connect, write, read, each step started by the previous one's handler.
// The stream's expiry bounds connect, write and read; io_context::run_until bounds the whole.

class Exchange {
 public:
  Exchange(asio::io_context& io, const Endpoint& endpoint,
           http::request<http::string_body>& request,
           std::chrono::steady_clock::time_point deadline)
      : endpoint_(endpoint), request_(request), deadline_(deadline), resolver_(io), stream_(io) {
    parser_.body_limit(kMaxBody);
  }

  void start() {
    resolver_.async_resolve(
        endpoint_.host, endpoint_.port,
        [this](beast::error_code ec, tcp::resolver::results_type results) {
          if (ec) return finish(ec, "resolve");
          stream_.expires_at(deadline_);
          stream_.async_connect(
              results, [this](beast::error_code e, const tcp::endpoint&) { on_connect(e); });
        });
  }

  bool done() const { return done_; }
  beast::error_code error() const { return error_; }
  const char* stage() const { return stage_; }
  http::response<http::string_body> release() { return parser_.release(); }

  // Closes the socket: pending operations end with operation_aborted.
  void cancel() {
    resolver_.cancel();
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return finish(ec, "connect");
    stream_.expires_at(deadline_);
    http::async_write(stream_, request_, [this](beast::error_code e, std::size_t) {
      if (e) return finish(e, "write");
      stream_.expires_at(deadline_);
      http::async_read(stream_, buffer_, parser_,
                       [this](beast::error_code r, std::size_t) { finish(r, "read"); });
    });
  }

  void finish(beast::error_code ec, const char* stage) {
    done_ = true;
    error_ = ec;
    stage_ = stage;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  const Endpoint& endpoint_;
  http::request<http::string_body>& request_;
  std::chrono::steady_clock::time_point deadline_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool done_ = false;
  beast::error_code error_;
  const char* stage_ = "";
};

bool is_connect_stage(std::string_view stage) {
  return stage == "resolve" || stage == "connect";
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// URLs

std::optional<Endpoint> parse_url(std::string_view url, std::string& error) {
  Endpoint out;
  out.url = std::string(url);
  std::string_view rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    const auto name = rest.substr(0, scheme);
    if (name == "https") {
      error =
          "https is not supported: reach the admin endpoint over http (it listens on "
          "loopback by default)";
      return std::nullopt;
    }
    if (name != "http") {
      error = "the URL's scheme must be http";
      return std::nullopt;
    }
    rest.remove_prefix(scheme + 3);
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    error = "credentials do not belong in the URL: give the token with --token-file";
    return std::nullopt;
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    error = "the URL may have a path prefix but no query or fragment";
    return std::nullopt;
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  out.base_path = std::string(path);
  std::string_view port;
  if (authority.starts_with('[')) {  // [::1]:7070
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unbalanced '[' in the URL's host";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        error = "unexpected text after the URL's host";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  if (port.empty()) {
    out.port = "80";
  } else {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      error = "the URL's port is not a number in 1..65535";
      return std::nullopt;
    }
    out.port = std::string(port);
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// The request

namespace {

http::request<http::string_body> make_request(const Endpoint& endpoint,
                                              const HttpRequest& request) {
  http::request<http::string_body> req;
  // GET, POST, PUT and DELETE (the schedules' deploy and delete); anything else is a GET.
  const auto method = http::string_to_verb(request.method);
  req.method(method == http::verb::unknown ? http::verb::get : method);
  req.target(endpoint.base_path + request.target);
  req.version(11);
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  req.set(http::field::host, (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) +
                                 (endpoint.port == "80" ? "" : ":" + endpoint.port));
  req.set(http::field::user_agent, "sagactl");
  req.set(http::field::accept, "application/json");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
  req.keep_alive(false);
  req.body() = request.body;
  req.prepare_payload();
  return req;
}

}  // namespace

HttpResponse http_request(const Endpoint& endpoint, const HttpRequest& request,
                          std::chrono::milliseconds timeout) {
  auto req = make_request(endpoint, request);
  asio::io_context io;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Exchange exchange(io, endpoint, req, deadline);
  exchange.start();
  io.run_until(deadline);
  if (!exchange.done()) {
    exchange.cancel();
    throw HttpError(HttpError::Kind::timeout,
                    "no answer within " + std::to_string(timeout.count()) + " ms");
  }
  const auto ec = exchange.error();
  if (ec == beast::error::timeout) {
    throw HttpError(HttpError::Kind::timeout,
                    "no answer within " + std::to_string(timeout.count()) + " ms");
  }
  if (ec) {
    const auto kind =
        is_connect_stage(exchange.stage()) ? HttpError::Kind::connect : HttpError::Kind::protocol;
    throw HttpError(kind, std::string(exchange.stage()) + ": " + ec.message());
  }
  auto res = exchange.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

HttpResponse http_stream(const Endpoint& endpoint, const HttpRequest& request,
                         std::chrono::milliseconds idle_timeout,
                         const std::function<bool(std::string_view piece)>& on_data) {
  auto req = make_request(endpoint, request);
  req.set(http::field::accept, "text/event-stream");
  asio::io_context io;
  tcp::socket socket(io);
  const char* stage = "connect";
  try {
    tcp::resolver resolver(io);
    asio::connect(socket, resolver.resolve(endpoint.host, endpoint.port));
    // Blocking reads that give up when the server has been silent too long.
    const auto ms = idle_timeout.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    stage = "write";
    http::write(socket, req);
    stage = "read";
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    http::read_header(socket, buffer, parser);
    HttpResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    out.content_type = std::string(parser.get()[http::field::content_type]);
    const bool streaming = out.status >= 200 && out.status < 300;
    char piece[8192];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      beast::error_code ec;
      http::read_some(socket, buffer, parser,
                      ec);  // what came, not a full buffer: events are small
      if (ec == http::error::need_buffer) ec = {};
      if (ec) throw beast::system_error(ec);
      const std::string_view got(piece, sizeof piece - parser.get().body().size);
      if (!streaming) {
        if (out.body.size() + got.size() > kMaxBody) break;
        out.body += got;
      } else if (!got.empty() && !on_data(got)) {
        break;
      }
    }
    return out;
  } catch (const beast::system_error& e) {
    if (e.code() == asio::error::would_block || e.code() == asio::error::try_again ||
        e.code() == asio::error::timed_out) {
      throw HttpError(HttpError::Kind::timeout,
                      "nothing heard for " + std::to_string(idle_timeout.count()) + " ms");
    }
    throw HttpError(is_connect_stage(stage) ? HttpError::Kind::connect : HttpError::Kind::protocol,
                    std::string(stage) + ": " + e.code().message());
  }
}

}  // namespace sagactl
