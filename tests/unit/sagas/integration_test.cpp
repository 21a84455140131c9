// The integration subscriber: booking events recorded at most once per event id.
#include <doctest/doctest.h>

#include "sagaflow/sagas/event_sink.hpp"
#include "sagaflow/sagas/integration.hpp"

using namespace sagaflow;
using Handled = sagas::IntegrationService::Handled;

namespace {

Message booking_event(const std::string& id, const std::string& type, const std::string& booking) {
  auto m = sagas::make_event(id, type, json::object{{"booking_id", booking}, {"slot_id", "mon"}});
  m.correlation_id = "saga-1";
  return m;
}

}  // namespace

TEST_CASE("integration: listens to booking.created and booking.confirmed") {
  const auto& types = sagas::IntegrationService::event_types();
  CHECK(types == std::vector<std::string>{"booking.created", "booking.confirmed"});
}

TEST_CASE("integration: records each booking event once per event id") {
  sagas::IntegrationService integration;
  CHECK(integration.handle(booking_event("s/created/event", "booking.created", "bk-1")) ==
        Handled::recorded);
  CHECK(integration.handle(booking_event("s/created/event", "booking.created", "bk-1")) ==
        Handled::duplicate);
  CHECK(integration.handle(booking_event("s/confirmed/event", "booking.confirmed", "bk-1")) ==
        Handled::recorded);
  CHECK(integration.count("booking.created", "bk-1") == 1);
  CHECK(integration.count("booking.confirmed", "bk-1") == 1);
  CHECK(integration.duplicates() == 1);
  auto records = integration.records();
  REQUIRE(records.size() == 2);
  CHECK(records[0].type == "booking.created");
  CHECK(records[0].slot_id == "mon");
  CHECK(records[0].saga_id == "saga-1");
  CHECK(records[1].event_id == "s/confirmed/event");
}

TEST_CASE("integration: other events, commands and bodies without a booking are ignored") {
  sagas::IntegrationService integration;
  CHECK(integration.handle(booking_event("e1", "payment.succeeded", "bk-1")) == Handled::ignored);
  auto command = booking_event("e2", "booking.created", "bk-1");
  command.kind = MessageKind::command;
  CHECK(integration.handle(command) == Handled::ignored);
  auto garbage = booking_event("e3", "booking.created", "bk-1");
  garbage.body = "{oops";
  CHECK(integration.handle(garbage) == Handled::ignored);
  CHECK(integration.handle(sagas::make_event("e4", "booking.created", json::object{})) ==
        Handled::ignored);
  CHECK(integration.ignored() == 4);
  CHECK(integration.records().empty());
  // An ignored event id is not remembered: a good delivery under it is recorded.
  CHECK(integration.handle(booking_event("e3", "booking.created", "bk-1")) == Handled::recorded);
}
