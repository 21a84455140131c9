// Honest ends (engine/include/sagaflow/engine/effects.hpp): a compensated or cancelled saga
// says which irreversible steps' effects it left in place, and its history keeps them beside
// the failure's reason.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/effects.hpp"

using namespace sagaflow;
using namespace sagaflow::testing;

namespace {

constexpr const char* kOrder = R"(
name: order
version: 1
steps:
  - name: reserve
    command: { service: stock, name: reserve, input: {} }
    compensation: { service: stock, name: release, input: {} }
  - name: notify
    irreversible: true
    command: { service: mail, name: send, input: {} }
  - name: charge
    command: { service: billing, name: charge, input: {} }
    compensation: { service: billing, name: refund, input: {} }
on_compensated:
  - name: apologise
    command: { service: mail, name: apologise, input: {} }
)";

void undo_all(EngineHarness& h) {
  while (h.status() == Status::compensating && !h.last.outbox.empty()) {
    h.ok(h.last.outbox.front());
  }
}

json::object final_record(const EngineHarness& h, std::string_view kind) {
  for (const auto& row : h.last.history) {
    if (row.kind == kind) return json::parse(row.detail).as_object();
  }
  FAIL("no " << kind << " record");
  return {};
}

}  // namespace

TEST_CASE("a saga compensated after an irreversible step lists its effect as left standing") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.ok(h.sent("stock.reserve"));
  h.ok(h.sent("mail.send"));
  h.business_failure(h.sent("billing.charge"), "Declined");
  undo_all(h);
  REQUIRE(h.status() == Status::compensated);
  const auto effects = effects_left_standing(*h.saga);
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].step == "notify");
  CHECK(effects[0].reason ==
        "irreversible step completed: it has no compensation, its effect stands");
  // The history keeps the failure's reason and the same list; on_compensated is not listed.
  const auto detail = final_record(h, "saga_compensated");
  CHECK(detail.at("reason").as_string().find("Declined") != json::string::npos);
  CHECK(detail.at("effects_left_standing") == effects_json(effects));
  // Read back from its stored row, the saga says the same.
  h.reload();
  CHECK(effects_json(effects_left_standing(*h.saga)) == effects_json(effects));
}

TEST_CASE("a saga whose compensation undid everything leaves no effect standing") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.business_failure(h.sent("stock.reserve"), "OutOfStock");
  undo_all(h);
  REQUIRE(h.status() == Status::compensated);
  CHECK(effects_left_standing(*h.saga).empty());
  CHECK(final_record(h, "saga_compensated").at("effects_left_standing") == json::array{});
}

TEST_CASE("an irreversible step undone by another step's compensation does not stand") {
  EngineHarness h(R"(
name: redemption
version: 1
steps:
  - name: hold
    command: { service: certificates, name: hold, input: {} }
    compensation:
      - when: $steps.capture != null
        service: certificates
        name: void
        input: {}
      - service: certificates
        name: release
        input: {}
  - name: capture
    irreversible: true
    command: { service: certificates, name: capture, input: {} }
  - name: apply
    command: { service: payments, name: apply, input: {} }
    compensation: { service: payments, name: remove, input: {} }
)");
  h.start(json::object{});
  h.ok(h.sent("certificates.hold"));
  h.ok(h.sent("certificates.capture"), json::object{{"amount", 5}});
  h.business_failure(h.sent("payments.apply"), "PaymentClosed");
  CHECK(h.sent_types() == "certificates.void");
  undo_all(h);
  REQUIRE(h.status() == Status::compensated);
  CHECK(effects_left_standing(*h.saga).empty());
}

TEST_CASE("a cancelled saga lists the irreversible steps done, a running one none") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.ok(h.sent("stock.reserve"));
  h.ok(h.sent("mail.send"));
  const auto charge = h.sent("billing.charge");
  CHECK(effects_left_standing(*h.saga).empty());  // still running: nothing is left yet
  h.cancel("customer asked");
  h.business_failure(charge, "Declined");  // the compensation waits for the command still out
  undo_all(h);
  REQUIRE(h.status() == Status::cancelled);
  const auto effects = effects_left_standing(*h.saga);
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].step == "notify");
  CHECK(final_record(h, "saga_cancelled").at("effects_left_standing") == effects_json(effects));
}

TEST_CASE("an irreversible step whose last attempt timed out may have been applied") {
  EngineHarness h(kOrder);
  h.start(json::object{});
  h.ok(h.sent("stock.reserve"));
  h.sent("mail.send");
  h.fire("step:notify");
  undo_all(h);
  REQUIRE(h.status() == Status::compensated);
  const auto effects = effects_left_standing(*h.saga);
  REQUIRE(effects.size() == 1);
  CHECK(effects[0].step == "notify");
  CHECK(effects[0].reason.find("may have been applied") != std::string::npos);
}
