#pragma once
// A tiny stand-in for sagaflowd's admin endpoint: a Beast listener on an ephemeral loopback port
// that answers canned responses per route and records every request it got, so that a test
// checks what sagactl sends (method, path, query, headers, body) and what it does with each
// answer. It runs on its own thread; a response may be delayed to make the client time out.
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace sagaflow::testing {

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::string path;
  std::string query;  // after '?', "" when none
  std::string authorization;
  std::string actor;  // X-Sagaflow-Actor
  std::string content_type;
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  // before answering
};

class FakeAdmin {
 public:
  FakeAdmin() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeAdmin() {
    io_.stop();
    thread_.join();
  }
  FakeAdmin(const FakeAdmin&) = delete;
  FakeAdmin& operator=(const FakeAdmin&) = delete;

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

  // Answers METHOD PATH (the query is not part of the route). Several responses for one route
  // are given in turn; the last one repeats.
  void on(const std::string& method, const std::string& path, CannedResponse response) {
    std::lock_guard lock(mutex_);
    routes_[{method, path}].push_back(std::move(response));
  }

  std::vector<RecordedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  RecordedRequest last() const {
    std::lock_guard lock(mutex_);
    return requests_.empty() ? RecordedRequest{} : requests_.back();
  }

 private:
  using tcp = boost::asio::ip::tcp;
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  struct Session {
    explicit Session(tcp::socket socket)
        : stream(std::move(socket)), timer(stream.get_executor()) {}
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    Request request;
    Response response;
    boost::asio::steady_timer timer;
  };

  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      serve(std::make_shared<Session>(std::move(socket)));
      accept();
    });
  }

  void serve(std::shared_ptr<Session> s) {
    boost::beast::http::async_read(
        s->stream, s->buffer, s->request, [this, s](boost::beast::error_code ec, std::size_t) {
          if (ec) return;
          CannedResponse canned = answer(s->request);
          s->response.result(static_cast<unsigned>(canned.status));
          s->response.version(11);
          s->response.set(boost::beast::http::field::content_type, canned.content_type);
          s->response.body() = std::move(canned.body);
          s->response.keep_alive(false);
          s->response.prepare_payload();
          s->timer.expires_after(canned.delay);
          s->timer.async_wait([s](boost::beast::error_code e) {
            if (e) return;
            boost::beast::http::async_write(
                s->stream, s->response, [s](boost::beast::error_code, std::size_t) {
                  boost::beast::error_code ignored;
                  s->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
                });
          });
        });
  }

  CannedResponse answer(const Request& request) {
    RecordedRequest r;
    r.method = std::string(request.method_string());
    r.target = std::string(request.target());
    const auto question = r.target.find('?');
    r.path = r.target.substr(0, question);
    r.query = question == std::string::npos ? "" : r.target.substr(question + 1);
    r.authorization = std::string(request[boost::beast::http::field::authorization]);
    r.actor = std::string(request["X-Sagaflow-Actor"]);
    r.content_type = std::string(request[boost::beast::http::field::content_type]);
    r.body = request.body();
    std::lock_guard lock(mutex_);
    requests_.push_back(r);
    auto it = routes_.find({r.method, r.path});
    if (it == routes_.end() || it->second.empty()) {
      return {404, R"({"error":{"code":"not_found","message":"no such route in the fake"}})"};
    }
    CannedResponse canned = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return canned;
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::deque<CannedResponse>> routes_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace sagaflow::testing
