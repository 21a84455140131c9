#pragma once
// The admin endpoint on a thread of its own, from start to stop, where the daemon's settings say
// (tools/bench serves its orchestrator's the same way, on a free port).
#include <cstddef>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "config.hpp"
#include "sagaflow/http/admin_api.hpp"
#include "sagaflow/http/server.hpp"

namespace sagaflowd {

class AdminEndpoint {
 public:
  AdminEndpoint(sagaflow::http::AdminApi& api, const Config& config)
      : server_(io_, api,
                sagaflow::http::ServerOptions{
                    .address = config.admin_address,
                    .port = config.admin_port,
                    .api_threads = static_cast<std::size_t>(config.admin_threads),
                    .api_queue = static_cast<std::size_t>(config.admin_queue)}) {
    server_.start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~AdminEndpoint() {
    server_.stop();
    io_.stop();
    thread_.join();
  }
  AdminEndpoint(const AdminEndpoint&) = delete;
  AdminEndpoint& operator=(const AdminEndpoint&) = delete;
  std::string url() const { return server_.url(); }

 private:
  boost::asio::io_context io_;
  sagaflow::http::AdminServer server_;
  std::thread thread_;
};

}  // namespace sagaflowd
