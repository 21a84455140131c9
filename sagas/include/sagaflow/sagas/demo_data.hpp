#pragma once
// The example data the demo scenarios rely on: accounts, stock, coupons, codes, slots and
// payments, each scenario with its own users and items so that all can run at once. The
// embedded daemon seeds its in-process participants with it; `sagaflow-participant --demo-data`
// seeds a participant process the same way, so the scenarios run unchanged over a broker.
#include "sagaflow/sagas/participants.hpp"

namespace sagaflow::sagas {

void seed_demo_data(Participants& participants);

}  // namespace sagaflow::sagas
