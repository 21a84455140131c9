#pragma once
// When each forward command was published, so that its reply can be timed for the metrics.
// In memory only and bounded: a restart forgets what was in flight (those replies are not
// timed), and commands never answered are forgotten once the table grows large.
//
// Threading: the orchestrator's thread only.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sagaflow/engine/message.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

class CommandTiming {
 public:
  struct Timed {
    std::string flow;
    std::string step;  // the step's name: "authorize[2]" counts as "authorize"
    Duration latency{};
  };

  // A command was published at `at`; compensations are not timed.
  void published(const Message& m, Timestamp at) {
    if (m.kind != MessageKind::command || m.idempotency_key.ends_with("/undo")) return;
    if (sent_.size() >= kMaxTracked) forget_before(at - kForgetAfter);
    auto step = std::string_view(m.step).substr(0, m.step.find('['));
    sent_.insert_or_assign(m.id, Sent{at, m.flow, std::string(step)});
  }

  // The first reply to a timed command; nullopt for anything else (duplicates included).
  std::optional<Timed> replied(const Message& reply, Timestamp at) {
    auto it = sent_.find(reply.causation_id);
    if (it == sent_.end()) return std::nullopt;
    Timed timed{std::move(it->second.flow), std::move(it->second.step),
                std::max(Duration{0}, at - it->second.at)};
    sent_.erase(it);
    return timed;
  }

 private:
  static constexpr std::size_t kMaxTracked = 100'000;
  static constexpr Duration kForgetAfter{10 * 60 * 1000};

  struct Sent {
    Timestamp at;
    std::string flow;
    std::string step;
  };

  void forget_before(Timestamp limit) {
    std::erase_if(sent_, [&](const auto& entry) { return entry.second.at < limit; });
    if (sent_.size() >= kMaxTracked) sent_.clear();  // all recent: give up on them
  }

  std::unordered_map<std::string, Sent> sent_;
};

}  // namespace sagaflow
