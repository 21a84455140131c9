#pragma once
// A transport that records what the orchestrator does with it: what it published, acknowledged
// and dead-lettered, in order, so tests can check the commit rule's ordering.
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
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

  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration) override {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    while (n < max && !inbox_.empty()) {
      out.push_back(std::move(inbox_.front()));
      inbox_.pop_front();
      ++n;
    }
    return n;
  }

  void ack(std::span<const std::uint64_t> tags) override {
    std::lock_guard lock(mutex_);
    acked.insert(acked.end(), tags.begin(), tags.end());
    log.push_back("ack");
  }

  void dead_letter(const Delivery& delivery, DeadLetterCode code,
                   std::string_view detail) override {
    {
      std::lock_guard lock(mutex_);
      dead_letters.emplace_back(delivery.message, std::string(detail));
      dead_letter_codes.push_back(code);
    }
    if (observer) observer->dead_lettered({code, detail, "fake", delivery.message.id});
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

  bool fail_publish = false;
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
  std::uint64_t next_tag_ = 0;
};

}  // namespace sagaflow::testing
