#pragma once
// A loopback TCP proxy that a test can take down and bring back: one program's way to a server
// (a broker, a database) fails as in an outage, while everything else reaching the server
// directly goes on. ctest runs the integration tests side by side on one broker, so stopping
// the broker itself would fail the others.
//
// Threading: one thread of its own moves the bytes; down() and up() may be called from any
// thread and take effect before they return.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "support/free_port.hpp"

namespace sagaflow::testing {

class TcpProxy {
 public:
  // Listens on a free loopback port and forwards each connection to 127.0.0.1:upstream_port.
  explicit TcpProxy(int upstream_port) : upstream_port_(upstream_port), port_(free_port()) {
    REQUIRE(::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) == 0);
    listen_now();
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    command(Command::stop);
    thread_.join();
    close_all();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }

  // Closes every connection through the proxy and refuses new ones, as a server that is gone.
  void down() { command(Command::down); }
  // Accepts connections again, on the same port.
  void up() { command(Command::up); }

 private:
  enum class Command { none, down, up, stop };
  struct Pair {
    int client = -1;
    int upstream = -1;
  };

  void command(Command c) {
    std::unique_lock lock(mutex_);
    pending_ = c;
    const char byte = 1;
    REQUIRE(::write(wake_[1], &byte, 1) == 1);
    done_.wait(lock, [&] { return pending_ == Command::none; });
  }

  void listen_now() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener_ >= 0);
    const int yes = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
  }

  void close_all() {
    for (auto& p : pairs_) {
      ::close(p.client);
      ::close(p.upstream);
    }
    pairs_.clear();
    if (listener_ >= 0) ::close(listener_);
    listener_ = -1;
  }

  void accept_one() {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(upstream_port_));
    if (upstream < 0 ||
        ::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(client);
      if (upstream >= 0) ::close(upstream);
      return;
    }
    pairs_.push_back(Pair{client, upstream});
  }

  // Moves what `from` has to `to`; false when either side is closed.
  static bool pump(int from, int to) {
    std::array<char, 65536> buffer;
    const ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t m =
          ::send(to, buffer.data() + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) return false;
      sent += m;
    }
    return true;
  }

  void run() {
    while (true) {
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
      if (listener_ >= 0) fds.push_back({listener_, POLLIN, 0});
      const std::size_t first_pair = fds.size();
      for (const auto& p : pairs_) {
        fds.push_back({p.client, POLLIN, 0});
        fds.push_back({p.upstream, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 1000) < 0) continue;
      if (fds[0].revents != 0) {
        char drain[16];
        while (::read(wake_[0], drain, sizeof drain) > 0) {
        }
        std::lock_guard lock(mutex_);
        const Command c = pending_;
        if (c == Command::down || c == Command::stop) close_all();
        if (c == Command::up && listener_ < 0) listen_now();
        pending_ = Command::none;
        done_.notify_all();
        if (c == Command::stop) return;
        continue;  // the sockets polled may be gone
      }
      const bool incoming = listener_ >= 0 && (fds[1].revents & POLLIN) != 0;
      std::vector<Pair> alive;
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        const auto& p = pairs_[i];
        const auto& c = fds[first_pair + 2 * i];
        const auto& u = fds[first_pair + 2 * i + 1];
        bool open = true;
        if (c.revents != 0) open = pump(p.client, p.upstream);
        if (open && u.revents != 0) open = pump(p.upstream, p.client);
        if (open) {
          alive.push_back(p);
        } else {
          ::close(p.client);
          ::close(p.upstream);
        }
      }
      pairs_ = std::move(alive);
      if (incoming) accept_one();
    }
  }

  int upstream_port_;
  int port_;
  int wake_[2] = {-1, -1};
  int listener_ = -1;
  std::vector<Pair> pairs_;  // the proxy thread's, except in the constructor and destructor
  std::mutex mutex_;
  std::condition_variable done_;
  Command pending_ = Command::none;
  std::thread thread_;
};

}  // namespace sagaflow::testing
