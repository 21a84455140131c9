#include "sagaflow/inproc/bus.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <iterator>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/post.hpp>

namespace sagaflow::inproc {

namespace {

using Callback = std::function<void(const Message&)>;

// A dead letter to report once the bus's lock is released (the observer never runs under it).
struct Notice {
  DeadLetterCode code;
  std::string detail;
  std::string queue;
  std::string message_id;
};
using Notices = std::vector<Notice>;

// The bus's state. Handlers posted to the workers' io_context hold it by shared_ptr, so a
// handler that runs after the Bus is gone finds it alive, sees the generation moved on, and
// does nothing (the dispatchers it would call only outlive the Bus, not the io_context).
class Core final : public Transport, public std::enable_shared_from_this<Core> {
 public:
  Core(boost::asio::io_context& workers, DeadLetterObserver* observer)
      : workers_(workers), observer_(observer) {}

  void publish(std::span<const Message> messages) override;
  std::size_t receive(std::vector<Delivery>& out, std::size_t max, Duration wait) override;
  void ack(std::span<const std::uint64_t> tags) override;
  void dead_letter(const Delivery& delivery, DeadLetterCode code, std::string_view detail) override;
  // A command counts as sent when a worker takes it from the bus, not when it is queued: a
  // backlog on the workers' io_context spends no attempt time.
  bool reports_hand_over() const override { return true; }
  void take_handed_over(std::vector<CommandSent>& out) override;

  void serve(const std::string& service, worker::Dispatcher& dispatcher) {
    std::lock_guard lock(mutex_);
    services_.insert_or_assign(service, &dispatcher);
  }
  void route(const std::string& event_type) {
    std::lock_guard lock(mutex_);
    routed_.insert(event_type);
  }
  void subscribe(const std::string& event_type, Callback callback) {
    std::lock_guard lock(mutex_);
    subscribers_[event_type].push_back(std::make_shared<const Callback>(std::move(callback)));
  }
  std::vector<DeadLetter> dead_letters() const {
    std::lock_guard lock(mutex_);
    return dead_;
  }
  std::size_t unacknowledged() const {
    std::lock_guard lock(mutex_);
    return unacked_.size();
  }
  // An outside event entering the bus (moved in: no copy); whether anything took it.
  bool publish_event(Message event) {
    event.kind = MessageKind::event;
    std::shared_ptr<Core> keep = shared_from_this();
    Notices notices;
    bool taken = false;
    {
      std::lock_guard lock(mutex_);
      auto subs = subscribers_.find(event.type);
      taken = routed_.contains(event.type) || (subs != subscribers_.end() && !subs->second.empty());
      route_locked(keep, event, generation_.load(), notices);
    }
    tell(notices);
    return taken;
  }
  bool serves(const std::string& service) const {
    std::lock_guard lock(mutex_);
    return services_.contains(service);
  }
  // Everything in flight is forgotten: queued inputs, unacknowledged deliveries, and handlers
  // posted but not yet run (they compare their generation with the current one).
  void lose_in_flight() {
    std::lock_guard lock(mutex_);
    ++generation_;
    inbox_.clear();
    unacked_.clear();
  }

 private:
  // Routes one message; called with the mutex held. `message` may be moved from; a dead letter
  // it makes is added to `notices`.
  void route_locked(const std::shared_ptr<Core>& keep, Message& message, std::uint64_t generation,
                    Notices& notices);
  // Keeps the message whole in dead_; called with the mutex held.
  void give_up_locked(Message&& message, DeadLetterCode code, std::string detail, std::string queue,
                      Notices& notices);
  // Tells the observer; called without the mutex.
  void tell(const Notices& notices) const;
  // Puts an input in the orchestrator's inbox unless the bus lost it meanwhile.
  void deliver(Message message, std::uint64_t generation);
  // A worker took the command (its thread), just before handling it.
  void handed_over(const Message& command) {
    std::lock_guard lock(mutex_);
    handed_over_.push_back({command.correlation_id, command.id, {}});
  }
  void push_inbox_locked(Message message);

  boost::asio::io_context& workers_;
  DeadLetterObserver* const observer_;
  mutable std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<Message> inbox_;
  std::unordered_set<std::uint64_t> unacked_;
  std::uint64_t next_tag_ = 1;
  std::vector<DeadLetter> dead_;
  std::vector<CommandSent> handed_over_;  // since the orchestrator last took them
  std::unordered_map<std::string, worker::Dispatcher*> services_;
  std::unordered_set<std::string> routed_;
  // Callbacks are shared so that a posted call survives a later subscribe() growing the vector.
  std::unordered_map<std::string, std::vector<std::shared_ptr<const Callback>>> subscribers_;
  // Read without the mutex by posted handlers (a cheap early exit); written with it held.
  std::atomic<std::uint64_t> generation_{0};
};

void Core::publish(std::span<const Message> messages) {
  std::shared_ptr<Core> keep = shared_from_this();
  Notices notices;
  {
    // One lock for the whole batch: routing is a few map lookups per message.
    std::lock_guard lock(mutex_);
    const std::uint64_t generation = generation_.load();
    for (const Message& m : messages) {
      Message copy = m;  // the span is const: the bus needs its own message to hand on
      route_locked(keep, copy, generation, notices);
    }
  }
  tell(notices);
}

void Core::route_locked(const std::shared_ptr<Core>& keep, Message& message,
                        std::uint64_t generation, Notices& notices) {
  switch (message.kind) {
    case MessageKind::command: {
      auto it = services_.find(message.destination);
      if (it == services_.end()) {
        // Given up on for good, unlike a broker's outage: its attempt's time runs, so that the
        // step times out and the saga goes on (retries, compensation) instead of waiting forever.
        handed_over_.push_back({message.correlation_id, message.id, {}});
        std::string detail = "no participant serves " + message.destination;
        std::string queue = "commands." + message.destination;
        give_up_locked(std::move(message), DeadLetterCode::unroutable, std::move(detail),
                       std::move(queue), notices);
        return;
      }
      worker::Dispatcher* dispatcher = it->second;
      boost::asio::post(workers_, [keep, dispatcher, generation, command = std::move(message)] {
        if (keep->generation_.load() != generation) return;  // lost in a simulated crash
        keep->handed_over(command);
        keep->deliver(dispatcher->handle(command), generation);
      });
      return;
    }
    case MessageKind::reply:
      // Replies come from participants to the orchestrator, never the other way round.
      give_up_locked(std::move(message), DeadLetterCode::wrong_kind,
                     "the orchestrator does not publish replies", std::string(kOrchestratorQueue),
                     notices);
      return;
    case MessageKind::event: {
      // An event nobody listens to is not an error: publishing is fire-and-forget, like a
      // fanout exchange without bindings.
      auto subs = subscribers_.find(message.type);
      const bool to_orchestrator = routed_.contains(message.type);
      if (subs != subscribers_.end() && !subs->second.empty()) {
        auto shared =
            std::make_shared<const Message>(to_orchestrator ? message : std::move(message));
        for (const auto& callback : subs->second) {
          boost::asio::post(workers_, [keep, callback, shared, generation] {
            if (keep->generation_.load() != generation) return;
            (*callback)(*shared);
          });
        }
      }
      if (to_orchestrator) push_inbox_locked(std::move(message));
      return;
    }
  }
}

void Core::deliver(Message message, std::uint64_t generation) {
  std::lock_guard lock(mutex_);
  // The handler may have run while lose_in_flight() happened: its reply is lost with the rest.
  if (generation_.load() != generation) return;
  push_inbox_locked(std::move(message));
}

void Core::push_inbox_locked(Message message) {
  const bool was_empty = inbox_.empty();
  inbox_.push_back(std::move(message));
  // A receiver only sleeps on an empty inbox, so only the first message needs to wake it.
  if (was_empty) arrived_.notify_one();
}

std::size_t Core::receive(std::vector<Delivery>& out, std::size_t max, Duration wait) {
  if (max == 0) return 0;
  std::unique_lock lock(mutex_);
  if (!arrived_.wait_for(lock, wait, [&] { return !inbox_.empty(); })) return 0;
  const std::size_t n = std::min(max, inbox_.size());
  out.reserve(out.size() + n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t tag = next_tag_++;
    unacked_.insert(tag);
    out.push_back(Delivery{std::move(inbox_.front()), tag});
    inbox_.pop_front();
  }
  // Another receiver (if any) takes what this one left.
  if (!inbox_.empty()) arrived_.notify_one();
  return n;
}

void Core::ack(std::span<const std::uint64_t> tags) {
  std::lock_guard lock(mutex_);
  // Unknown tags (e.g. delivered before lose_in_flight()) are ignored, as a broker ignores acks
  // on a closed channel.
  for (std::uint64_t tag : tags) unacked_.erase(tag);
}

void Core::take_handed_over(std::vector<CommandSent>& out) {
  std::lock_guard lock(mutex_);
  out.insert(out.end(), std::make_move_iterator(handed_over_.begin()),
             std::make_move_iterator(handed_over_.end()));
  handed_over_.clear();
}

void Core::dead_letter(const Delivery& delivery, DeadLetterCode code, std::string_view detail) {
  Notices notices;
  {
    std::lock_guard lock(mutex_);
    unacked_.erase(delivery.tag);
    give_up_locked(Message(delivery.message), code, std::string(detail),
                   std::string(kOrchestratorQueue), notices);
  }
  tell(notices);
}

void Core::give_up_locked(Message&& message, DeadLetterCode code, std::string detail,
                          std::string queue, Notices& notices) {
  if (observer_ != nullptr) notices.push_back({code, detail, queue, message.id});
  dead_.push_back({std::move(message), code, std::move(detail), std::move(queue)});
}

void Core::tell(const Notices& notices) const {
  for (const auto& n : notices) observer_->dead_lettered({n.code, n.detail, n.queue, n.message_id});
}

}  // namespace

struct Bus::Impl {
  std::shared_ptr<Core> core;
};

Bus::Bus(boost::asio::io_context& workers, DeadLetterObserver* dead_letters)
    : impl_(std::make_unique<Impl>()) {
  impl_->core = std::make_shared<Core>(workers, dead_letters);
}

Bus::~Bus() {
  // Handlers still queued on the io_context must not call dispatchers that may be gone.
  impl_->core->lose_in_flight();
}

Transport& Bus::orchestrator() {
  return *impl_->core;
}

void Bus::serve(const std::string& service, worker::Dispatcher& dispatcher) {
  impl_->core->serve(service, dispatcher);
}

void Bus::route_events_to_orchestrator(const std::string& event_type) {
  impl_->core->route(event_type);
}

void Bus::subscribe(const std::string& event_type, std::function<void(const Message&)> callback) {
  impl_->core->subscribe(event_type, std::move(callback));
}

void Bus::publish_event(Message event) {
  impl_->core->publish_event(std::move(event));
}

std::future<void> Bus::send_outside_event(Message event) {
  std::promise<void> sent;
  const auto type = event.type;
  if (impl_->core->publish_event(std::move(event))) {
    sent.set_value();
  } else {
    sent.set_exception(std::make_exception_ptr(EventNotRouted(type)));
  }
  return sent.get_future();
}

std::map<std::string, std::uint32_t> Bus::declare_for_deploy(
    const std::vector<std::string>& services, const std::vector<std::string>& event_types) {
  for (const auto& type : event_types) route_events_to_orchestrator(type);
  std::map<std::string, std::uint32_t> served;
  for (const auto& service : services) served[service] = impl_->core->serves(service) ? 1 : 0;
  return served;
}

std::map<std::string, ServiceQueue> Bus::service_queues(const std::vector<std::string>& services) {
  std::map<std::string, ServiceQueue> queues;
  for (const auto& service : services) {
    queues[service] = ServiceQueue{.consumers = impl_->core->serves(service) ? 1u : 0u};
  }
  return queues;
}

std::vector<DeadLetter> Bus::dead_letters() const {
  return impl_->core->dead_letters();
}

std::size_t Bus::unacknowledged() const {
  return impl_->core->unacknowledged();
}

void Bus::lose_in_flight() {
  impl_->core->lose_in_flight();
}

}  // namespace sagaflow::inproc
