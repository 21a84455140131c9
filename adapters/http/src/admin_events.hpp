#pragma once
// The event stream's pieces that AdminApi::events puts together (admin_events.cpp).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "sagaflow/json.hpp"

#include "sagaflow/engine/saga_changes.hpp"
#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

// A change as the stream's `saga` event carries it (docs/admin-api.md).
json::object change_json(const SagaChange& change);

// A stream of the changes `filter` admits: after `resume_after` when given (a `gap` event first
// when the feed no longer has them all), else from now. `place` is held while the stream lives.
EventStream open_event_stream(SagaChangeFeed& feed, ChangeFilter filter,
                              std::optional<std::uint64_t> resume_after,
                              std::shared_ptr<void> place, std::chrono::milliseconds heartbeat);

}  // namespace sagaflow::http
