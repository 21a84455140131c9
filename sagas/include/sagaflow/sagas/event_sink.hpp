#pragma once
// How an example participant publishes an outside event (payment.succeeded after a webhook, for
// instance): it hands a Message of kind event to an EventSink. Tests wire the sink to
// FlowWorld::publish_event; the embedded daemon to its in-process bus. The event's id is stable
// (derived from what happened, never from a counter of deliveries), so that a republished event is
// recognised as a duplicate by the engine and by subscribers.
#include <functional>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/worker/event_publisher.hpp"

namespace sagaflow::sagas {

using EventSink = std::function<void(Message)>;

// An event envelope: kind event, the given id and type, the body as JSON text.
using worker::make_event;

}  // namespace sagaflow::sagas
