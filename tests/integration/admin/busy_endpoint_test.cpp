// A burst of slow API requests fills the endpoint's API threads and queue: /healthz, /readyz and
// /metrics still answer at once (on the I/O thread), and a request beyond the queue is answered
// 503 at once instead of waiting.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "admin_world.hpp"
#include "support/forwarding_backend.hpp"

namespace sagaflow::http::testing {
namespace {

// Lists that wait until the test lets them go: a store that takes its time.
class SlowLists final : public sagaflow::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;

  std::vector<SagaRow> list(const SagaFilter& filter) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_; });
    lock.unlock();
    return ForwardingBackend::list(filter);
  }
  void wait_for(int lists) {
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, 10s, [&] { return waiting_ >= lists; }));
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

}  // namespace

TEST_CASE(
    "health, readiness and metrics answer at once while slow list requests fill the endpoint") {
  AdminWorld world;
  SlowLists slow(*world.backend);
  AdminApi api(slow, {}, &world.metrics);
  asio::io_context io;
  // No queue: once both threads hold a list, the endpoint is full, and the test knows when.
  AdminServer server(io, api, ServerOptions{.port = 0, .api_threads = 2, .api_queue = 0});
  server.start();
  std::thread io_thread([&] { io.run(); });

  std::vector<std::thread> lists;
  std::vector<unsigned> answers(2, 0);
  for (std::size_t i = 0; i < answers.size(); ++i) {
    lists.emplace_back([&, i] {
      Client client(server.endpoint());
      answers[i] = client.request(verb::get, "/api/sagas").result_int();
    });
  }
  slow.wait_for(2);
  Client probe(server.endpoint());
  const auto started = std::chrono::steady_clock::now();
  CHECK(probe.request(verb::get, "/healthz").result() == status::ok);
  CHECK(probe.request(verb::get, "/readyz").result() == status::ok);
  CHECK(probe.request(verb::get, "/metrics").result() == status::ok);
  // A generous bound, not a benchmark: they did not wait for the lists (held until released).
  CHECK(std::chrono::steady_clock::now() - started < 5s);

  // One more API request is refused at once.
  auto refused = Client(server.endpoint()).request(verb::get, "/api/counts");
  CHECK(refused.result() == status::service_unavailable);
  CHECK(body_of(refused).at("error").at("code") == "unavailable");
  CHECK(refused[field::retry_after] == "1");

  slow.release();
  for (auto& t : lists) t.join();
  for (auto code : answers) CHECK(code == 200);
  server.stop();
  io.stop();
  io_thread.join();
}

}  // namespace sagaflow::http::testing
