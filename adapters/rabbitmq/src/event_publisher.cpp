#include "sagaflow/rabbitmq/event_publisher.hpp"

#include <vector>

#include "link.hpp"

namespace sagaflow::rabbitmq {

struct EventPublisher::Impl {
  explicit Impl(EventPublisherSettings s)
      : settings(std::move(s)), link(link_settings(settings), nullptr, nullptr) {}

  static detail::LinkSettings link_settings(const EventPublisherSettings& settings) {
    detail::LinkSettings s;
    s.name = settings.name;
    s.connection = settings.connection;
    s.topology = settings.topology;
    s.events_only = true;  // no queue, no binding, no consumer
    return s;
  }

  const EventPublisherSettings settings;
  detail::Link link;  // last: its thread starts once the settings exist
};

EventPublisher::EventPublisher(EventPublisherSettings settings)
    : impl_(std::make_unique<Impl>(std::move(settings))) {}

EventPublisher::~EventPublisher() = default;

void EventPublisher::publish(const Message& event) {
  std::vector<detail::Outgoing> out;
  out.push_back(detail::outside_event(impl_->settings.topology, event, impl_->settings.mandatory));
  impl_->link.publish_and_wait(std::move(out), impl_->settings.confirm_timeout);
}

void EventPublisher::wait_connected(Duration timeout) const {
  impl_->link.wait_connected(timeout);
}

bool EventPublisher::connected() const {
  return impl_->link.connected();
}

std::uint64_t EventPublisher::connections() const {
  return impl_->link.generation();
}

void EventPublisher::interrupt() {
  impl_->link.interrupt();
}

}  // namespace sagaflow::rabbitmq
