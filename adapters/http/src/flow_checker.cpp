#include "sagaflow/http/flow_checker.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "sagaflow/http/log.hpp"

namespace sagaflow::http {

// What the threads share with the checker; it outlives the checker while a thread runs (a
// stuck one holds it for good).
struct FlowChecker::Shared {
  std::function<flow::LoadResult(std::string_view)> load;
  std::size_t threads = 0;
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::shared_ptr<FlowCheck>> queue;  // guarded by mutex, as are the two below
  std::size_t stuck = 0;
  bool stopping = false;

  static void run(const std::shared_ptr<Shared>& shared);
};

namespace {

constexpr std::string_view kPostedFlow = "posted flow";

flow::LoadResult load_posted(std::string_view text) {
  return flow::load_flow_text(text, std::string(kPostedFlow));
}

}  // namespace

void FlowChecker::Shared::run(const std::shared_ptr<Shared>& shared) {
  auto& s = *shared;
  std::unique_lock lock(s.mutex);
  for (;;) {
    s.wake.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
    if (s.stopping) return;
    auto check = std::move(s.queue.front());
    s.queue.pop_front();
    auto expected = FlowCheck::State::queued;
    if (!check->state_.compare_exchange_strong(expected, FlowCheck::State::running)) continue;
    lock.unlock();

    flow::LoadResult result;
    try {
      result = s.load(check->text_);
    } catch (const std::exception& e) {
      result = flow::LoadResult{
          nullptr,
          {flow::Diagnostic{std::string(kPostedFlow), 0, 0,
                            std::string("the flow could not be checked: ") + e.what()}}};
    }
    check->result_ = std::move(result);

    lock.lock();
    expected = FlowCheck::State::running;
    if (!check->state_.compare_exchange_strong(expected, FlowCheck::State::done,
                                               std::memory_order_acq_rel)) {
      // Its caller gave up on it (abandon() counted this thread stuck): the thread is back.
      --s.stuck;
      log::warn("a flow check that overran its budget returned", {{"stuck", s.stuck}});
    }
  }
}

FlowChecker::FlowChecker(FlowCheckOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  options_.threads = std::max<std::size_t>(options_.threads, 1);
  options_.queue = std::max<std::size_t>(options_.queue, 1);
  shared_->load = options_.load ? options_.load : load_posted;
  shared_->threads = options_.threads;
  for (std::size_t i = 0; i < options_.threads; ++i) {
    // Detached: a thread stuck in a parser cannot be joined (see the header).
    std::thread([shared = shared_] { Shared::run(shared); }).detach();
  }
}

FlowChecker::~FlowChecker() {
  std::lock_guard lock(shared_->mutex);
  shared_->stopping = true;
  for (auto& check : shared_->queue) check->state_ = FlowCheck::State::abandoned;
  shared_->queue.clear();
  shared_->wake.notify_all();
}

FlowChecker::Submitted FlowChecker::submit(std::string text) {
  std::lock_guard lock(shared_->mutex);
  if (shared_->stuck >= shared_->threads) return {nullptr, Refusal::all_stuck};
  if (shared_->queue.size() >= options_.queue) return {nullptr, Refusal::queue_full};
  auto check = std::shared_ptr<FlowCheck>(new FlowCheck(std::move(text)));
  shared_->queue.push_back(check);
  shared_->wake.notify_one();
  return {std::move(check), Refusal::queue_full};
}

FlowCheck::State FlowChecker::abandon(const std::shared_ptr<FlowCheck>& check) {
  std::lock_guard lock(shared_->mutex);
  const auto found = check->state_.load(std::memory_order_acquire);
  if (found == FlowCheck::State::queued) {
    check->state_ = FlowCheck::State::abandoned;
    auto& queue = shared_->queue;
    queue.erase(std::remove(queue.begin(), queue.end(), check), queue.end());
  } else if (found == FlowCheck::State::running) {
    check->state_ = FlowCheck::State::abandoned;
    ++shared_->stuck;
    log::error("a flow check overran its budget; its thread stays with it until the parser returns",
               {{"stuck", shared_->stuck}, {"threads", shared_->threads}});
  }
  return found;
}

std::size_t FlowChecker::stuck() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->stuck;
}

}  // namespace sagaflow::http
