#pragma once
// An operator's request sent on to the orchestrator that owns its saga (docs/admin-api.md,
// "Any orchestrator answers"): the same method, target, body and Authorization, over plain
// HTTP/1.1, with the header that stops a second hop.
#include <chrono>
#include <string>
#include <string_view>

#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

// Set on a forwarded request: its receiver answers it itself or refuses it, never forwards it.
inline constexpr std::string_view kForwardedHeader = "X-Sagaflow-Forwarded";
// Set on the answer a forwarded request got: the owner's name.
inline constexpr std::string_view kAnsweredByHeader = "X-Sagaflow-Answered-By";

// Sends `request` to `base_url` ("http://host:port" with an optional path prefix) and returns
// the answer as it came. Throws std::runtime_error when the URL cannot be used, or the owner
// cannot be reached or does not answer within `timeout`.
Response forward_request(const Request& request, std::string_view base_url,
                         std::chrono::milliseconds timeout);

}  // namespace sagaflow::http
