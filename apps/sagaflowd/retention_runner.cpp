#include "retention_runner.hpp"

#include <optional>
#include <stdexcept>

#include "sagaflow/http/log.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagaflowd {

namespace log = sagaflow::log;
using SteadyClock = std::chrono::steady_clock;

namespace {

void log_pass(const std::vector<sagaflow::PurgeGroup>& groups) {
  for (const auto& g : groups) {
    log::info("retention removed sagas", {{"flow", g.flow},
                                          {"status", sagaflow::to_string(g.status)},
                                          {"sagas", g.sagas},
                                          {"history_rows", g.history}});
  }
}

}  // namespace

RetentionRunner::RetentionRunner(sagaflow::Retention& retention, std::chrono::milliseconds pause,
                                 std::chrono::milliseconds interval)
    : retention_(retention),
      pause_(pause),
      interval_(interval),
      thread_([this](std::stop_token stop) { run(stop); }) {}

RetentionRunner::~RetentionRunner() {
  thread_.request_stop();
  changed_.notify_all();
}

std::future<std::vector<sagaflow::PurgeGroup>> RetentionRunner::purge_now(
    sagaflow::PurgeScope scope) {
  Request request{std::move(scope), {}};
  auto done = request.done.get_future();
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(std::move(request));
  }
  changed_.notify_all();
  return done;
}

bool RetentionRunner::wait_for(std::stop_token& stop, std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, stop, wait, [&] { return !requests_.empty(); }) ||
         stop.stop_requested();
}

bool RetentionRunner::pass(std::stop_token& stop, bool yield) {
  while (true) {
    const auto began = SteadyClock::now();
    if (!retention_.step()) break;
    if (stop.stop_requested()) return false;
    const auto pause = sagaflow::retention_pause(pause_, SteadyClock::now() - began);
    if (pause.count() > 0 && wait_for(stop, pause) && yield) return false;
    if (!yield) continue;
    std::lock_guard lock(mutex_);
    if (!requests_.empty()) return false;
  }
  return true;
}

void RetentionRunner::run(std::stop_token stop) {
  auto next_pass = SteadyClock::now();
  while (!stop.stop_requested()) {
    std::optional<Request> request;
    {
      std::lock_guard lock(mutex_);
      if (!requests_.empty()) {
        request = std::move(requests_.front());
        requests_.pop_front();
      }
    }
    if (request) {
      try {
        retention_.begin_pass(request->scope);
        if (!pass(stop, false)) {
          throw std::runtime_error("sagaflowd is stopping; the purge was cut short");
        }
        log_pass(retention_.last_pass());
        request->done.set_value(retention_.last_pass());
      } catch (...) {
        request->done.set_exception(std::current_exception());
      }
      continue;
    }
    if (SteadyClock::now() >= next_pass) {
      next_pass = SteadyClock::now() + interval_;
      try {
        retention_.begin_pass();
        if (pass(stop, true)) log_pass(retention_.last_pass());
      } catch (const std::exception& error) {
        log::warn("retention pass failed; tried again at the next",
                  {{"error", sagaflow::text::printable(error.what())}});
      }
      continue;
    }
    wait_for(stop,
             std::chrono::duration_cast<std::chrono::milliseconds>(next_pass - SteadyClock::now()));
  }
}

}  // namespace sagaflowd
