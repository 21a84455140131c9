#include "sagaflow/http/server.hpp"

#include <atomic>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "sagaflow/http/log.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagaflow::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kFirstPoll{1};
constexpr milliseconds kMaxPoll{50};
// After refusing a body, what the client still sends is read and dropped for this long (so
// that it reads the answer instead of a reset), up to this much.
constexpr milliseconds kLinger{2'000};
constexpr std::size_t kMaxDrained = 16 * 1024 * 1024;

// What a read error that is the client's fault is answered with before closing; nullopt for
// errors that leave nobody to answer (a timeout, a reset).
std::optional<Response> answer_to_read_error(beast::error_code ec, std::size_t body_limit) {
  namespace bh = beast_http;
  if (ec == bh::error::body_limit) {
    return error_response(
        bh::status::payload_too_large, "too_large",
        "the request body is larger than " + std::to_string(body_limit) + " bytes");
  }
  if (ec == bh::error::header_limit) {
    return error_response(bh::status::request_header_fields_too_large, "too_large",
                          "the request headers are too large");
  }
  if (ec.category() == bh::make_error_code(bh::error::bad_version).category()) {
    return error_response(bh::status::bad_request, "bad_request",
                          "not an HTTP/1.1 request: " + ec.message());
  }
  return std::nullopt;
}

// What answers on the I/O thread at once: the probes and scrapes an operator's tooling relies
// on, and the dashboard's static files. Everything else (the API) runs on the pool.
bool answered_at_once(std::string_view path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" ||
         !path.starts_with("/api/");
}

// What every session of a server shares; sessions may outlive the listener.
struct Shared {
  ServerOptions options;
  asio::thread_pool* api_pool = nullptr;  // joined before the server is gone
  std::atomic<std::size_t> api_busy{0};   // API requests running or waiting for a thread
};

// ---------------------------------------------------------------------------------------------
// One connection: read a request, answer it, and again while the client keeps it alive.

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, AdminApi& api, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)),
        timer_(stream_.get_executor()),
        api_(api),
        shared_(std::move(shared)),
        options_(shared_->options) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  // --- reading ------------------------------------------------------------------------------
  void read() {
    // A fresh parser per request: the limits apply to each request, not to the connection.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    stream_.expires_after(options_.read_timeout);  // the whole request, headers and body
    beast_http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read(ec, 0);
    // A client that asks before sending its body (curl does above 1 KiB) is told to go on; one
    // whose body is too large was refused by the parser already.
    if (beast::iequals(parser_->get()[beast_http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                               [self = shared_from_this()](beast::error_code e, std::size_t) {
                                 if (e) return fail(e, "write");
                                 self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    beast_http::async_read(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == beast_http::error::end_of_stream) return close();
    if (ec) {
      if (auto answer = answer_to_read_error(ec, options_.body_limit)) {
        log::info("admin request refused",
                  {{"status", answer->result_int()}, {"error", ec.message()}});
        return write(std::move(*answer), true);
      }
      if (ec != beast::error::timeout) fail(ec, "read");
      return stream_.close();  // too slow, or gone
    }
    started_ = SteadyClock::now();
    const auto& request = parser_->get();
    method_ = std::string(request.method_string());
    path_ = std::string(request.target().substr(0, request.target().find('?')));
    if (answered_at_once(path_)) return answer(api_.handle_request(request));
    const auto limit = options_.api_threads + options_.api_queue;
    if (shared_->api_busy.fetch_add(1) >= limit) {
      shared_->api_busy.fetch_sub(1);
      auto busy = error_response(beast_http::status::service_unavailable, "unavailable",
                                 "the admin endpoint is busy: " + std::to_string(limit) +
                                     " API requests are running or waiting; try again",
                                 request.version(), request.keep_alive());
      busy.set(beast_http::field::retry_after, "1");
      return write(std::move(busy));
    }
    asio::post(*shared_->api_pool, [self = shared_from_this()] {
      auto outcome = std::make_shared<Outcome>(self->api_.handle_request(self->parser_->get()));
      self->shared_->api_busy.fetch_sub(1);
      asio::post(self->stream_.get_executor(),
                 [self, outcome] { self->answer(std::move(*outcome)); });
    });
  }

  void answer(Outcome outcome) {
    if (auto* response = std::get_if<Response>(&outcome)) return write(std::move(*response));
    if (auto* events = std::get_if<EventStream>(&outcome)) return stream(std::move(*events));
    pending_.emplace(std::move(std::get<Pending>(outcome)));
    deadline_ = started_ + pending_->timeout();
    delay_ = kFirstPoll;
    if (const auto& wake_on = pending_->wake_on()) {
      // Woken by the saga's changes; the timer only catches what no change announces.
      delay_ = kMaxPoll;
      watch_ = wake_on(waker([](Session& self) { self.poll(); }));
    }
    poll();
  }

  // A wake-up callable from any thread: runs `then` on the session's strand, at most one queued
  // at a time however often it is called (a busy feed does not pile handlers up).
  std::function<void()> waker(void (*then)(Session&)) {
    return [weak = weak_from_this(), then] {
      auto self = weak.lock();
      if (!self || self->wake_queued_.exchange(true)) return;
      asio::post(self->stream_.get_executor(), [self, then] {
        self->wake_queued_ = false;
        then(*self);
      });
    };
  }

  // --- answers that wait for the orchestrator -----------------------------------------------
  void poll() {
    if (!pending_) return;  // answered already; a late wake-up
    std::optional<Response> response;
    try {
      response = pending_->poll();
      if (!response && SteadyClock::now() >= deadline_) response = pending_->expire();
    } catch (const std::exception& e) {
      log::error("admin request failed", {{"path", path_}, {"error", e.what()}});
      response = error_response(beast_http::status::service_unavailable, "unavailable",
                                "the store did not answer; try again", parser_->get().version(),
                                parser_->get().keep_alive());
    }
    if (response) {
      pending_.reset();
      watch_.reset();
      return write(std::move(*response));
    }
    const auto left = std::chrono::ceil<milliseconds>(deadline_ - SteadyClock::now());
    timer_.expires_after(std::max(milliseconds{0}, std::min(delay_, left)));
    delay_ = std::min(delay_ * 2, kMaxPoll);
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->poll();
    });
  }

  // --- event streams ------------------------------------------------------------------------
  // Written as the feed wakes the stream (and a comment line after a quiet heartbeat); one write
  // at a time, each of at most one batch; a client that does not take a write within the write
  // timeout, or that closes or sends anything, ends the stream.
  void stream(EventStream events) {
    access_log(200);
    events_.emplace(std::move(events));
    stream_.expires_never();  // the stream's own timers below
    out_ = events_->head();
    watch_ = events_->wake_on(waker([](Session& self) { self.pump(); }));
    watch_client();
    pump();
  }

  void pump() {
    if (!events_ || writing_) return;
    if (out_.empty()) out_ = events_->next();
    if (out_.empty() && heartbeat_due_) out_ = ": keep-alive\n\n";
    heartbeat_due_ = false;
    if (out_.empty()) return;
    writing_ = true;
    timer_.expires_after(options_.write_timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->end_stream();  // the client does not read
    });
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->writing_ = false;
                        self->out_.clear();
                        if (ec || !self->events_) return self->end_stream();
                        self->arm_heartbeat();
                        self->pump();
                      });
  }

  void arm_heartbeat() {
    timer_.expires_after(events_->heartbeat());
    timer_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (e || !self->events_) return;
      self->heartbeat_due_ = true;
      self->pump();
    });
  }

  // A stream's client has nothing to say: any byte, its end or an error closes the stream.
  void watch_client() {
    drain_.resize(512);
    stream_.async_read_some(
        asio::buffer(drain_),
        [self = shared_from_this()](beast::error_code, std::size_t) { self->end_stream(); });
  }

  void end_stream() {
    if (!events_) return;
    events_.reset();  // frees its place among the streams
    watch_.reset();
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  // --- writing ------------------------------------------------------------------------------
  // `refused`: the request was not read whole; answer, then drop what the client still sends.
  void write(Response response, bool refused = false) {
    if (refused) {
      response.keep_alive(false);
    } else {
      access_log(response.result_int());
    }
    const bool keep_alive = response.keep_alive();
    response_ = std::make_shared<Response>(std::move(response));
    stream_.expires_after(options_.write_timeout);
    beast_http::async_write(
        stream_, *response_,
        [self = shared_from_this(), keep_alive, refused](beast::error_code ec, std::size_t) {
          self->on_write(keep_alive, refused, ec);
        });
  }

  void on_write(bool keep_alive, bool refused, beast::error_code ec) {
    if (ec) return fail(ec, "write");
    response_.reset();
    if (refused) return linger();
    if (!keep_alive) return close();
    read();
  }

  void access_log(unsigned status) {
    const auto ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - started_);
    // One line per request is noise in production: shown with --log-level debug.
    log::debug("admin request", {{"method", text::printable(method_)},
                                 {"path", text::printable(path_)},
                                 {"status", status},
                                 {"ms", ms.count()}});
  }

  // --- closing ------------------------------------------------------------------------------
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  void linger() {
    close();
    drain_.resize(64 * 1024);
    stream_.expires_after(kLinger);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrained) return self->stream_.close();
                              self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer timer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  std::shared_ptr<Response> response_;
  std::optional<Pending> pending_;
  std::optional<EventStream> events_;
  SagaChangeFeed::Watch watch_;
  std::atomic<bool> wake_queued_{false};
  std::string out_;  // the event stream's write in flight
  bool writing_ = false;
  bool heartbeat_due_ = false;
  SteadyClock::time_point started_{};
  SteadyClock::time_point deadline_{};
  milliseconds delay_{kFirstPoll};
  std::string method_;
  std::string path_;
  std::vector<char> drain_;
  std::size_t drained_ = 0;
  AdminApi& api_;
  std::shared_ptr<Shared> shared_;
  const ServerOptions& options_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Accepts connections, each on a strand of its own.

class AdminServer::Listener : public std::enable_shared_from_this<AdminServer::Listener> {
 public:
  Listener(asio::io_context& io, AdminApi& api, ServerOptions options)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        retry_(acceptor_.get_executor()),
        api_(api),
        api_pool_(std::max<std::size_t>(1, options.api_threads)),
        shared_(std::make_shared<Shared>()) {
    shared_->options = std::move(options);
    shared_->api_pool = &api_pool_;
    const auto& settings = shared_->options;
    const auto address = asio::ip::make_address(settings.address);
    if (!api_.requires_token() && !is_loopback(address)) {
      throw std::invalid_argument("the admin endpoint listens on " + settings.address +
                                  ", which is not a loopback address, only with an admin token");
    }
    const tcp::endpoint endpoint(address, settings.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void start() {
    asio::dispatch(acceptor_.get_executor(),
                   beast::bind_front_handler(&Listener::accept, shared_from_this()));
  }

  void stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
    });
  }

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  // Waits for the API requests running (those waiting for a thread are dropped).
  void join_api_pool() {
    api_pool_.stop();
    api_pool_.join();
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors, say: accepting again at once would spin.
      fail(ec, "accept");
      retry_.expires_after(milliseconds(100));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), api_, shared_)->run();
    accept();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  AdminApi& api_;
  asio::thread_pool api_pool_;
  std::shared_ptr<Shared> shared_;
};

// ---------------------------------------------------------------------------------------------

AdminServer::AdminServer(asio::io_context& io, AdminApi& api, ServerOptions options)
    : listener_(std::make_shared<Listener>(io, api, std::move(options))) {}

AdminServer::~AdminServer() {
  stop();
  listener_->join_api_pool();
}

void AdminServer::start() {
  listener_->start();
}

void AdminServer::stop() {
  listener_->stop();
}

tcp::endpoint AdminServer::endpoint() const {
  return listener_->endpoint();
}

std::string AdminServer::url() const {
  const auto e = endpoint();
  const auto host =
      e.address().is_v6() ? "[" + e.address().to_string() + "]" : e.address().to_string();
  return "http://" + host + ":" + std::to_string(e.port()) + "/";
}

bool is_loopback(const asio::ip::address& address) {
  if (address.is_v4()) return address.to_v4().is_loopback();
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

void fail(beast::error_code ec, const char* what) {
  if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::eof) {
    return;
  }
  log::warn("admin connection failed", {{"op", what}, {"error", ec.message()}});
}

}  // namespace sagaflow::http
