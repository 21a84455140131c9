#include "forward.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace sagaflow::http {
namespace {

struct Target {
  std::string host;
  std::string port;
  std::string base_path;  // no trailing slash
};

Target parse_base_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    throw std::runtime_error("the owner's admin URL " + std::string(url) + " is not http://");
  }
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  const auto authority = url.substr(0, slash);
  Target t;
  if (slash != std::string_view::npos) t.base_path = std::string(url.substr(slash));
  while (t.base_path.ends_with('/')) t.base_path.pop_back();
  const auto colon = authority.rfind(':');
  const bool bracketed = authority.starts_with('[');
  if (colon == std::string_view::npos || (bracketed && authority.rfind(']') > colon)) {
    t.host = std::string(authority);
    t.port = "80";
  } else {
    t.host = std::string(authority.substr(0, colon));
    t.port = std::string(authority.substr(colon + 1));
  }
  if (bracketed && t.host.size() >= 2) t.host = t.host.substr(1, t.host.size() - 2);
  if (t.host.empty() || t.port.empty()) {
    throw std::runtime_error("the owner's admin URL " + std::string(url) + " names no host");
  }
  return t;
}

}  // namespace

Response forward_request(const Request& request, std::string_view base_url,
                         std::chrono::milliseconds timeout) {
  const auto target = parse_base_url(base_url);
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::error_code ec;
  const auto endpoints = resolver.resolve(target.host, target.port, ec);
  if (ec) throw std::runtime_error("cannot resolve " + target.host + ": " + ec.message());
  stream.connect(endpoints, ec);
  if (ec) throw std::runtime_error("cannot connect: " + ec.message());

  Request out = request;
  out.target(target.base_path + std::string(request.target()));
  out.set(boost::beast::http::field::host, target.host + ":" + target.port);
  out.set(kForwardedHeader, "1");
  out.keep_alive(false);
  out.prepare_payload();
  boost::beast::http::write(stream, out, ec);
  if (ec) throw std::runtime_error("cannot send the request: " + ec.message());
  boost::beast::flat_buffer buffer;
  Response answer;
  boost::beast::http::read(stream, buffer, answer, ec);
  if (ec) throw std::runtime_error("no answer: " + ec.message());
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return answer;
}

}  // namespace sagaflow::http
