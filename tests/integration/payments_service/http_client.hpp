#pragma once
// A blocking HTTP/1.1 client for the tests that talk to a running payments_service.
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http_api.hpp"

namespace payments_service::testing {

inline Response request(const boost::asio::ip::tcp::endpoint& endpoint, http::verb method,
                        const std::string& target, std::string body = {}) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect(endpoint);
  Request req{method, target, 11};
  req.set(http::field::host, endpoint.address().to_string());
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.keep_alive(false);
  req.prepare_payload();
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  Response res;
  http::read(socket, buffer, res);
  return res;
}

}  // namespace payments_service::testing
