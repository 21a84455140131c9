#include "outbox_relay.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace sagaflow {

void OutboxRelay::send(std::vector<OutboxRow> rows) {
  collect();
  if (rows.empty()) return;
  InFlight f;
  std::vector<Message> messages;
  messages.reserve(rows.size());
  f.seqs.reserve(rows.size());
  for (auto& r : rows) {
    f.seqs.push_back(r.seq);
    messages.push_back(std::move(r.message));
  }
  if (!transport_.reports_hand_over()) {
    for (const auto& m : messages) {
      if (m.kind == MessageKind::command) f.commands.push_back({m.correlation_id, m.id, {}});
    }
  }
  try {
    f.sending = transport_.publish_started(messages);
  } catch (const std::exception&) {
    return failed(f);
  }
  if (metrics_) {
    const auto at = clock_.now();
    for (const auto& m : messages) timing.published(m, at);
  }
  if (!f.sending) return confirmed(f);  // held already (the in-process bus, fakes)
  in_flight_.push_back(std::move(f));
}

void OutboxRelay::forward(std::vector<Message> copies, std::vector<Delivery> inputs) {
  InFlight f;
  for (const auto& d : inputs) f.forwarded_tags.push_back(d.tag);
  f.forwarded = std::move(inputs);
  try {
    f.sending = transport_.publish_started(copies);
  } catch (const std::exception&) {
    return failed(f);
  }
  if (!f.sending) return confirmed(f);
  in_flight_.push_back(std::move(f));
}

void OutboxRelay::collect() {
  // Every one the transport answered, in any order: each sending stands alone.
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (!it->sending.done()) {
      ++it;
      continue;
    }
    bool ok = true;
    try {
      it->sending.wait();  // returns at once: it is settled
    } catch (const std::exception&) {
      ok = false;
    }
    settle(*it, ok);
    it = in_flight_.erase(it);
  }
}

void OutboxRelay::finish() {
  while (!in_flight_.empty()) {
    auto f = std::move(in_flight_.front());
    in_flight_.pop_front();
    bool ok = true;
    try {
      f.sending.wait();
    } catch (const std::exception&) {
      ok = false;
    }
    settle(f, ok);
  }
}

std::unordered_set<std::uint64_t> OutboxRelay::in_hand() const {
  std::unordered_set<std::uint64_t> seqs(published.begin(), published.end());
  for (const auto& f : in_flight_) seqs.insert(f.seqs.begin(), f.seqs.end());
  return seqs;
}

void OutboxRelay::settle(InFlight& f, bool ok) {
  if (ok) {
    confirmed(f);
  } else {
    failed(f);
  }
}

// The transport holds these rows: the next commit deletes them from the outbox and, in the
// same transaction, starts their commands' attempt timers from now (the confirm). A crash
// before that commit loses both together: the rows are published again, confirmed again, and
// start the timers then, which only gives the participant more time.
void OutboxRelay::confirmed(InFlight& f) {
  published.insert(published.end(), f.seqs.begin(), f.seqs.end());
  const auto now = clock_.now();
  for (auto& c : f.commands) {
    c.at = now;
    sent.push_back(std::move(c));
  }
  if (!f.forwarded_tags.empty()) transport_.ack(f.forwarded_tags);
}

// The rows stay in the outbox and are sent again from there; forwarded inputs come back.
void OutboxRelay::failed(InFlight& f) {
  if (!f.seqs.empty()) {
    behind = true;
    unpublished_ += f.seqs.size();
  }
  for (auto& d : f.forwarded) returned.push_back(std::move(d));
}

}  // namespace sagaflow
