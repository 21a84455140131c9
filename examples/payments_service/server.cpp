#include "server.hpp"

#include <cstdio>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace payments_service {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// The one place that reports a network error. A peer that goes away is not news.
void fail(beast::error_code ec, const char* what) {
  if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe) {
    return;
  }
  std::fprintf(stderr, "payments_service: %s: %s\n", what, ec.message().c_str());
}

// What a read error that is the client's fault is answered with before closing; nullopt for
// errors that leave nobody to answer.
std::optional<Response> answer_to_read_error(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return error_response(http::status::payload_too_large, "PayloadTooLarge",
                          "the request body is too large");
  }
  if (ec == http::error::header_limit) {
    return error_response(http::status::request_header_fields_too_large, "HeadersTooLarge",
                          "the request headers are too large");
  }
  if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
    return error_response(http::status::bad_request, "BadRequest",
                          "not an HTTP/1.1 request: " + ec.message());
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------------
// One connection: read a request, answer it, and again while the client keeps it alive.

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const Backend& backend, const HttpLimits& limits)
      : stream_(std::move(socket)), backend_(backend), limits_(limits) {}

  void run() {
    // On the session's strand from the start: http_io_ runs on several threads.
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    // A fresh parser per request: the limits apply to each request, not to the connection.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.header_bytes));
    parser_->body_limit(limits_.body_bytes);
    stream_.expires_after(limits_.timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec) {
      if (auto answer = answer_to_read_error(ec)) return write(std::move(*answer));
      return fail(ec, "read");
    }
    write(handle_request(parser_->release(), backend_));
  }

  void write(Response response) {
    const bool keep_alive = response.keep_alive();
    response_ = std::make_shared<Response>(std::move(response));
    stream_.expires_after(limits_.timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        self->on_write(keep_alive, ec);
                      });
  }

  void on_write(bool keep_alive, beast::error_code ec) {
    if (ec) return fail(ec, "write");
    response_.reset();
    if (!keep_alive) return close();
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  const Backend& backend_;
  const HttpLimits& limits_;
};

}  // namespace

// ------------------------------------------------------------------------------------------------
// Accepts connections, each on a strand of its own.

class Service::Listener : public std::enable_shared_from_this<Service::Listener> {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& endpoint, const Backend& backend,
           const HttpLimits& limits)
      : io_(io), acceptor_(asio::make_strand(io)), retry_(io), backend_(backend), limits_(limits) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void run() { accept(); }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors, say: accepting again at once would spin.
      fail(ec, "accept");
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), backend_, limits_)->run();
    accept();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  const Backend& backend_;
  const HttpLimits& limits_;
};

// ------------------------------------------------------------------------------------------------
// The service

Service::Service(Options options)
    : options_(std::move(options)),
      payments_("https://pay.example.test/checkout/", options_.webhook_secret),
      backend_{payments_,
               [this] { return worker_ && worker_->connected() && events_->connected(); }},
      worker_guard_(asio::make_work_guard(worker_io_)) {
  listener_ = std::make_shared<Listener>(
      http_io_,
      tcp::endpoint(asio::ip::make_address(options_.listen_address), options_.listen_port),
      backend_, options_.limits);

  payments_.register_handlers(dispatcher_);
  sagaflow::rabbitmq::WorkerSettings settings;
  settings.connection = options_.connection;
  settings.topology.prefix = options_.prefix;
  settings.service = "payments";
  settings.confirm_timeout = options_.confirm_timeout;
  worker_ = std::make_unique<sagaflow::rabbitmq::Worker>(worker_io_, dispatcher_, settings);
  // The webhook's events go through a publisher of their own: the HTTP threads wait for its
  // confirms without touching the worker's connection, which serves the commands.
  events_ = std::make_unique<sagaflow::rabbitmq::EventPublisher>(
      sagaflow::rabbitmq::EventPublisherSettings{.connection = options_.connection,
                                                 .topology = settings.topology,
                                                 .confirm_timeout = options_.confirm_timeout,
                                                 .name = "payments_service webhook"});
  payments_.set_event_sink(
      [events = events_.get()](sagaflow::Message event) { events->publish(event); });
  // Last: a constructor that throws must not leave a thread to join.
  worker_thread_ = std::thread([this] { worker_io_.run(); });
}

Service::~Service() {
  stop();
  payments_.set_event_sink({});
  events_.reset();
  // The Worker waits for the handlers already running, so their io_context still runs here.
  worker_.reset();
  worker_guard_.reset();
  worker_io_.stop();
  worker_thread_.join();
}

void Service::run() {
  listener_->run();
  std::vector<std::thread> others;
  for (int i = 1; i < options_.http_threads; ++i) others.emplace_back([this] { http_io_.run(); });
  http_io_.run();
  for (auto& t : others) t.join();
}

void Service::stop() {
  http_io_.stop();
}

boost::asio::ip::tcp::endpoint Service::endpoint() const {
  return listener_->endpoint();
}

}  // namespace payments_service
