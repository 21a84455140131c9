#include "sagaflow/rabbitmq/orchestrator_transport.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>

#include "link.hpp"

namespace sagaflow::rabbitmq {

struct OrchestratorTransport::Impl {
  OrchestratorSettings settings;
  std::mutex mutex;
  std::condition_variable arrived;
  std::deque<Delivery> inbox;  // decoded, unacknowledged, not yet received by the engine
  // With partitions: the queues consumed, and the first connection generation whose deliveries
  // are taken (those of earlier connections go back to their queues when the connection closes).
  std::vector<std::string> consuming;
  std::uint64_t accept_from = 0;
  std::unique_ptr<detail::Link> link;

  detail::LinkSettings link_settings() const {
    const auto& t = settings.topology;
    detail::LinkSettings s;
    s.name = "orchestrator";
    s.connection = settings.connection;
    s.topology = t;
    s.prefetch = settings.prefetch;
    s.max_message_bytes = settings.max_message_bytes;
    s.dead_letters = settings.dead_letters;
    s.queues.push_back({t.reply_queue(), true, {}});
    for (int p = 0; p < settings.partitions; ++p) s.queues.push_back({t.reply_queue(p), true, {}});
    detail::QueueSpec events{t.orchestrator_events_queue(), true, {}};
    for (const auto& type : settings.event_types) {
      events.bindings.emplace_back(t.events_exchange(), type);
    }
    s.queues.push_back(std::move(events));
    for (const auto& service : settings.services) {
      s.queues.push_back({t.command_queue(service), true, {{t.commands_exchange(), service}}});
    }
    s.queues.push_back({t.dead_letter_queue(), false, {{t.dead_exchange(), ""}}});
    if (settings.partitions <= 0) {
      s.consume = {t.reply_queue(), t.orchestrator_events_queue()};
    }  // else nothing until consume_partitions()
    return s;
  }

  // The queues that serve the partitions.
  std::vector<std::string> queues_of(std::span<const int> partitions) const {
    const auto& t = settings.topology;
    std::vector<std::string> queues;
    for (int p : partitions) {
      if (p < 0 || p >= settings.partitions) {
        throw Error("orchestrator: partition " + std::to_string(p) + " is not one of the " +
                    std::to_string(settings.partitions));
      }
      queues.push_back(t.reply_queue(p));
    }
    std::sort(queues.begin(), queues.end());
    queues.erase(std::unique(queues.begin(), queues.end()), queues.end());
    if (!queues.empty()) queues.push_back(t.orchestrator_events_queue());
    return queues;
  }

  // I/O thread.
  void on_delivery(detail::Incoming&& in) {
    {
      std::lock_guard lock(mutex);
      if (settings.partitions > 0 && !taken(in)) return;  // unacknowledged: it goes back
      inbox.push_back(Delivery{std::move(in.message), in.tag});
    }
    arrived.notify_one();
  }
  bool taken(const detail::Incoming& in) const {
    return (in.tag >> detail::kGenerationShift) >= accept_from &&
           std::find(consuming.begin(), consuming.end(), in.queue) != consuming.end();
  }
  void on_state(bool up) {
    if (up) return;
    // What the engine has not taken yet comes again on the next connection.
    std::lock_guard lock(mutex);
    inbox.clear();
  }
};

OrchestratorTransport::OrchestratorTransport(OrchestratorSettings settings)
    : impl_(std::make_shared<Impl>()) {
  impl_->settings = std::move(settings);
  auto* impl = impl_.get();
  impl_->link = std::make_unique<detail::Link>(
      impl_->link_settings(), [impl](detail::Incoming&& in) { impl->on_delivery(std::move(in)); },
      [impl](std::uint64_t, bool up) { impl->on_state(up); });
}

OrchestratorTransport::~OrchestratorTransport() {
  impl_->link.reset();
}

void OrchestratorTransport::publish(std::span<const Message> messages) {
  if (auto sending = publish_started(messages)) sending.wait();
}

Sending OrchestratorTransport::publish_started(std::span<const Message> messages) {
  const auto& t = impl_->settings.topology;
  std::vector<detail::Outgoing> batch;
  batch.reserve(messages.size());
  for (const auto& m : messages) {
    detail::Outgoing o;
    switch (m.kind) {
      case MessageKind::command:
        if (m.destination.empty()) {
          throw Error("orchestrator: " + detail::describe(m) + " has no destination service");
        }
        o = {t.commands_exchange(), m.destination, true, m, {}};
        break;
      case MessageKind::reply: {
        const auto& queue = m.destination.empty() ? m.reply_to : m.destination;
        o = {"", queue, true, m, {}};  // the default exchange routes to the queue of that name
        break;
      }
      case MessageKind::event:
        if (m.destination.empty()) {
          o = {t.events_exchange(), m.type, false, m, {}};
        } else {
          o = {"", m.destination, true, m, {}};  // forwarded to the queue of its saga's partition
        }
        break;
    }
    batch.push_back(std::move(o));
  }
  return impl_->link->publish_started(std::move(batch), impl_->settings.confirm_timeout);
}

std::future<void> OrchestratorTransport::send_outside_event(Message event) {
  event.kind = MessageKind::event;
  auto sent = std::make_shared<std::promise<void>>();
  auto future = sent->get_future();
  const auto& t = impl_->settings.topology;
  std::vector<detail::Outgoing> batch{{t.events_exchange(), event.type, true, event, {}}};
  auto* link = impl_->link.get();
  link->post([link, batch = std::move(batch), sent, type = event.type]() mutable {
    link->publish(std::move(batch), [sent, type](const detail::PublishResult& result) {
      if (result.unroutable) {
        sent->set_exception(std::make_exception_ptr(EventNotRouted(type)));
      } else if (!result.error.empty()) {
        sent->set_exception(std::make_exception_ptr(Error(result.error)));
      } else {
        sent->set_value();
      }
    });
  });
  return future;
}

std::map<std::string, std::uint32_t> OrchestratorTransport::declare_for_deploy(
    const std::vector<std::string>& services, const std::vector<std::string>& event_types) {
  const auto& t = impl_->settings.topology;
  std::vector<detail::QueueSpec> queues;
  for (const auto& service : services) {
    queues.push_back({t.command_queue(service), true, {{t.commands_exchange(), service}}});
  }
  detail::QueueSpec events{t.orchestrator_events_queue(), true, {}};
  for (const auto& type : event_types) events.bindings.emplace_back(t.events_exchange(), type);
  if (!event_types.empty()) queues.push_back(std::move(events));
  const auto consumers =
      impl_->link->declare(std::move(queues), impl_->settings.connection.connect_timeout);
  std::map<std::string, std::uint32_t> out;
  for (std::size_t i = 0; i < services.size(); ++i) out[services[i]] = consumers.at(i);
  return out;
}

std::map<std::string, ServiceQueue> OrchestratorTransport::service_queues(
    const std::vector<std::string>& services) {
  const auto& t = impl_->settings.topology;
  std::vector<std::string> queues;
  queues.reserve(services.size());
  for (const auto& service : services) queues.push_back(t.command_queue(service));
  const auto counts =
      impl_->link->inspect(std::move(queues), impl_->settings.connection.connect_timeout);
  std::map<std::string, ServiceQueue> out;
  for (std::size_t i = 0; i < services.size() && i < counts.size(); ++i) {
    if (counts[i]) out[services[i]] = ServiceQueue{counts[i]->consumers, counts[i]->messages};
  }
  return out;
}

std::size_t OrchestratorTransport::receive(std::vector<Delivery>& out, std::size_t max,
                                           Duration wait) {
  std::unique_lock lock(impl_->mutex);
  impl_->arrived.wait_for(lock, wait, [&] { return !impl_->inbox.empty(); });
  std::size_t n = 0;
  while (n < max && !impl_->inbox.empty()) {
    out.push_back(std::move(impl_->inbox.front()));
    impl_->inbox.pop_front();
    ++n;
  }
  return n;
}

void OrchestratorTransport::ack(std::span<const std::uint64_t> tags) {
  if (tags.empty()) return;
  auto* link = impl_->link.get();
  link->post(
      [link, tags = std::vector<std::uint64_t>(tags.begin(), tags.end())] { link->ack(tags); });
}

void OrchestratorTransport::requeue(std::span<const std::uint64_t> tags) {
  if (tags.empty()) return;
  auto* link = impl_->link.get();
  link->post(
      [link, tags = std::vector<std::uint64_t>(tags.begin(), tags.end())] { link->requeue(tags); });
}

void OrchestratorTransport::dead_letter(const Delivery& delivery, DeadLetterCode code,
                                        std::string_view detail) {
  auto* link = impl_->link.get();
  link->post([link, tag = delivery.tag, message = delivery.message, code,
              detail = std::string(detail)] { link->dead_letter(tag, message, code, detail); });
}

void OrchestratorTransport::consume_partitions(std::span<const int> partitions) {
  if (impl_->settings.partitions <= 0) return;
  auto queues = impl_->queues_of(partitions);
  {
    std::lock_guard lock(impl_->mutex);
    if (queues == impl_->consuming) return;
    impl_->consuming = queues;
    impl_->accept_from = impl_->link->generation() + 1;
    impl_->inbox.clear();
  }
  impl_->link->reconsume(std::move(queues), impl_->settings.connection.connect_timeout);
}

void OrchestratorTransport::wait_connected(Duration timeout) const {
  impl_->link->wait_connected(timeout);
}

bool OrchestratorTransport::connected() const {
  return impl_->link->connected();
}

std::uint64_t OrchestratorTransport::connections() const {
  return impl_->link->generation();
}

void OrchestratorTransport::interrupt() {
  impl_->link->interrupt();
}

}  // namespace sagaflow::rabbitmq
