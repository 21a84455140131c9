#pragma once
// The admin endpoint on the network: a listener and a session per connection around AdminApi,
// on an io_context the caller runs (sagaflowd gives it a thread of its own).
//
// A session reads one request (headers up to 16 KiB, a body up to 1 MiB, the whole request
// within 10 s of the previous answer), answers it (polling a Pending on a timer, never
// blocking the thread; API requests on a bounded pool of threads, see ServerOptions), writes the
// answer and reads the next while the client keeps the
// connection alive. What fails before handle_request gets a JSON error too: 413 for a body too
// large, 431 for headers too large, 400 for what is not HTTP; a client too slow is closed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 7070;  // 0: any free port (tests), see AdminServer::endpoint()
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  // To read one request, from the end of the previous answer (an idle keep-alive connection
  // is closed after it too), and to write one answer.
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  // API requests (/api/...) are answered on a pool of `api_threads` threads of their own, with
  // at most `api_queue` more waiting for one; one more is answered 503 at once. /healthz,
  // /readyz, /metrics and the dashboard's files are answered on the I/O thread, so that a burst
  // of slow API requests never keeps them waiting.
  std::size_t api_threads = 4;
  std::size_t api_queue = 64;
};

class AdminServer {
 public:
  // Binds and listens (throws boost::system::system_error when it cannot). Refuses, with
  // std::invalid_argument, an address that is not loopback when the API has no token.
  AdminServer(boost::asio::io_context& io, AdminApi& api, ServerOptions options);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Accepts connections on the io_context's threads.
  void start();
  // Stops accepting, from any thread; open connections end with their current request.
  void stop();

  boost::asio::ip::tcp::endpoint endpoint() const;  // the bound address, its port chosen
  std::string url() const;                          // "http://127.0.0.1:7070/"

 private:
  class Listener;
  std::shared_ptr<Listener> listener_;
};

bool is_loopback(const boost::asio::ip::address& address);

// The one place that reports a network error; a peer that goes away is not news.
void fail(boost::system::error_code ec, const char* what);

}  // namespace sagaflow::http
