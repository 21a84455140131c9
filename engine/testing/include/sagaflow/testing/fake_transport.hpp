#pragma once
// A transport that records what the orchestrator does with it: what it published, acknowledged
// and dead-lettered, in order, so tests can check the commit rule's ordering.
//
// By default it holds what it is given at once, as if the broker confirmed it instantly. The
// broker's failures are switches: `fail_publish` (down: every publish throws, nothing is sent)
// and `hold_confirms` (up but not confirming: publish_started() accepts the messages and its
// wait throws, as a confirm timeout does, while the switch is on; turned off before the wait
// is called, the confirm arrives then), and `block_confirms` (up but silent: the sending stays
// unsettled, its wait blocks, until the switch is turned off; the confirm arrives then).
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::testing {

class FakeTransport final : public Transport {
 public:
  void publish(std::span<const Message> messages) override {
    std::lock_guard lock(mutex_);
    if (fail_publish) throw std::runtime_error("broker unavailable");
    published.insert(published.end(), messages.begin(), messages.end());
    log.push_back("publish");
  }

  Sending publish_started(std::span<const Message> messages) override {
    if (!hold_confirms && !block_confirms) {
      publish(messages);
      return {};
    }
    {
      std::lock_guard lock(mutex_);
      if (fail_publish) throw std::runtime_error("broker unavailable");
    }
    auto held = std::make_shared<std::vector<Message>>(messages.begin(), messages.end());
    return Sending{.wait =
                       [this, held] {
                         while (block_confirms) std::this_thread::sleep_for(Duration{1});
                         if (hold_confirms) {
                           throw std::runtime_error("the broker did not confirm in time");
                         }
                         publish(*held);
                       },
                   .settled = [this] { return !block_confirms.load(); }};
  }

  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration) override {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    while (n < max && !inbox_.empty()) {
      unacked_.insert_or_assign(inbox_.front().tag, inbox_.front());
      out.push_back(std::move(inbox_.front()));
      inbox_.pop_front();
      ++n;
    }
    return n;
  }

  void ack(std::span<const std::uint64_t> tags) override {
    std::lock_guard lock(mutex_);
    acked.insert(acked.end(), tags.begin(), tags.end());
    for (auto tag : tags) unacked_.erase(tag);
    log.push_back("ack");
  }

  void dead_letter(const Delivery& delivery, DeadLetterCode code,
                   std::string_view detail) override {
    {
      std::lock_guard lock(mutex_);
      unacked_.erase(delivery.tag);
      dead_letters.emplace_back(delivery.message, std::string(detail));
      dead_letter_codes.push_back(code);
    }
    if (observer) observer->dead_lettered({code, detail, "fake", delivery.message.id});
  }

  // The orchestrator's connection closed (it crashed): what it received and did not acknowledge
  // is delivered again, under new tags, as a broker does.
  void redeliver_unacknowledged() {
    std::lock_guard lock(mutex_);
    for (auto& [tag, delivery] : unacked_) {
      inbox_.push_back(Delivery{std::move(delivery.message), ++next_tag_});
    }
    unacked_.clear();
  }

  // Records the partitions asked for; which inputs arrive stays the test's choice.
  void consume_partitions(std::span<const int> partitions) override {
    std::lock_guard lock(mutex_);
    consumed.assign(partitions.begin(), partitions.end());
    ++consume_changes;
  }

  // Returns the delivery's tag.
  std::uint64_t deliver(Message m) {
    std::lock_guard lock(mutex_);
    inbox_.push_back(Delivery{std::move(m), ++next_tag_});
    return next_tag_;
  }

  std::atomic<bool> fail_publish = false;
  std::atomic<bool> hold_confirms = false;
  std::atomic<bool> block_confirms = false;
  std::vector<Message> published;
  std::vector<std::uint64_t> acked;
  std::vector<std::pair<Message, std::string>> dead_letters;  // the message and the detail
  std::vector<DeadLetterCode> dead_letter_codes;              // the code of each, in order
  DeadLetterObserver* observer = nullptr;                     // told of each dead letter
  std::vector<std::string> log;
  std::vector<int> consumed;  // the last consume_partitions()
  std::size_t consume_changes = 0;

 private:
  std::mutex mutex_;
  std::deque<Delivery> inbox_;
  std::map<std::uint64_t, Delivery> unacked_;  // received, neither acknowledged nor dead-lettered
  std::uint64_t next_tag_ = 0;
};

}  // namespace sagaflow::testing
