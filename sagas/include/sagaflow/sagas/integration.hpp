#pragma once
// The integration service of seed 003: a subscriber (not a command handler) to the booking
// events the saga publishes, booking.created and booking.confirmed, which it hands on to an
// outside system. Each event is recorded at most once per event id: a broker redelivery is
// recognised and ignored.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/engine/message.hpp"

namespace sagaflow::sagas {

class IntegrationService {
 public:
  struct Record {
    std::string event_id;
    std::string type;  // booking.created, booking.confirmed
    std::string booking_id;
    std::string slot_id;
    std::string saga_id;  // the event's correlation id
  };
  enum class Handled { recorded, duplicate, ignored };

  // The event types it subscribes to (wire each to handle()).
  static const std::vector<std::string>& event_types();

  // One delivered event. `ignored`: not a type it listens to, or a body without a booking_id
  // (counted in ignored()); `duplicate`: this event id was recorded already.
  Handled handle(const Message& event);

  std::vector<Record> records() const;  // in the order received
  // How many events of `type` about `booking_id` were recorded.
  std::int64_t count(const std::string& type, const std::string& booking_id) const;
  std::int64_t duplicates() const;
  std::int64_t ignored() const;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> seen_;  // event ids
  std::vector<Record> records_;
  std::int64_t duplicates_ = 0;
  std::int64_t ignored_ = 0;
};

}  // namespace sagaflow::sagas
