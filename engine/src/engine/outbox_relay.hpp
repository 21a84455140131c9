#pragma once
// Sends committed outbox rows and learns what the transport confirmed, without ever waiting for
// it: a broker that is down or slow to confirm holds up neither the round nor its timers.
//
// send() starts a sending (Transport::publish_started) and keeps it in flight; collect() takes,
// at the start of each send and whenever the round asks, every sending the transport has
// settled: a confirmed one adds its rows to `published` (deleted with the next commit) and its
// commands to `sent` (their attempt timers start in that commit); a refused one leaves its rows
// in the outbox and sets `behind`, so that the round reads them again (republish).
//
// Forwarded inputs (a reply or event for another orchestrator's partition) go the same way:
// acknowledged once the transport holds their copies, given back through `returned` otherwise.
//
// Threading: the orchestrator's run thread only, except outbox_lag.
#include <atomic>
#include <cstdint>
#include <deque>
#include <unordered_set>
#include <vector>

#include "command_timing.hpp"
#include "sagaflow/engine/metrics.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

class OutboxRelay {
 public:
  OutboxRelay(Transport& transport, const Clock& clock, Metrics* metrics)
      : transport_(transport), clock_(clock), metrics_(metrics) {}

  // Starts sending committed rows; returns at once (a transport that holds them already is done).
  void send(std::vector<OutboxRow> rows);
  // Sends inputs on to other orchestrators' queues; their tags are acknowledged once the copies
  // are held, and the inputs come back through `returned` when they are not.
  void forward(std::vector<Message> copies, std::vector<Delivery> inputs);
  // Takes every sending the transport has answered; never waits.
  void collect();
  // Waits for every sending in flight (a stop, a recovery).
  void finish();
  // Committed rows that are being sent or published since the last commit: not to be sent
  // again from the outbox.
  std::unordered_set<std::uint64_t> in_hand() const;
  // Outbox rows whose sending failed and are not sent again yet. Any thread.
  std::size_t outbox_lag() const { return unpublished_.load(); }
  // A republish from the store starts: what was behind is counted again by the sends that fail.
  void republishing() { unpublished_ = 0; }
  // Commands published (a metrics' step latency starts here).
  CommandTiming timing;

  // What the next commit carries; moved out by the commit, put back when it fails.
  std::vector<std::uint64_t> published;  // outbox rows the transport holds
  std::vector<CommandSent> sent;         // commands confirmed: their attempt timers start
  bool behind = false;                   // a sending failed: read the outbox again
  std::vector<Delivery> returned;        // forwarded inputs whose copies were not taken

 private:
  struct InFlight {
    Sending sending;
    std::vector<std::uint64_t> seqs;
    std::vector<CommandSent> commands;
    std::vector<std::uint64_t> forwarded_tags;
    std::vector<Delivery> forwarded;
  };
  // The transport took it (or refused it): the relay's bookkeeping follows.
  void settle(InFlight& f, bool ok);
  void confirmed(InFlight& f);
  void failed(InFlight& f);

  Transport& transport_;
  const Clock& clock_;
  Metrics* metrics_;
  std::deque<InFlight> in_flight_;
  std::atomic<std::size_t> unpublished_{0};
};

}  // namespace sagaflow
