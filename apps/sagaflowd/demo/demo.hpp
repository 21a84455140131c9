#pragma once
// The demo that tools/run shows: the example participants served in-process, a set of
// scenarios with the outcome each must reach, and the flows' invariants checked at the end.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/inproc/bus.hpp"
#include "sagaflow/sagas/offers.hpp"
#include "sagaflow/sagas/points.hpp"

namespace sagaflow::demo {

class Demo {
 public:
  explicit Demo(inproc::Bus& bus) {
    points_.register_handlers(points_dispatcher_);
    offers_.register_handlers(offers_dispatcher_);
    bus.serve("points", points_dispatcher_);
    bus.serve("offers", offers_dispatcher_);
  }

  // Returns whether every saga ended as its scenario expects and every invariant holds.
  bool run_scenarios(Orchestrator& orchestrator, Store& store) {
    struct Scenario {
      std::string name;
      std::string user;
      std::int64_t balance;
      std::string offer;
      std::int64_t price;
      std::string expected;
      std::string saga_id;
      std::chrono::steady_clock::time_point started;
    };
    std::vector<Scenario> scenarios = {
        {"enough points", "alice", 1000, "spa-weekend", 400, "completed", {}, {}},
        {"not enough points", "bob", 100, "spa-weekend", 400, "compensated", {}, {}},
        {"offer sold out after the debit", "carol", 1000, "concert", 300, "compensated", {}, {}},
    };
    offers_.sell_out("concert");
    for (auto& s : scenarios) {
      points_.open_account(s.user, s.balance);
      s.started = std::chrono::steady_clock::now();
      s.saga_id = orchestrator
                      .start(StartRequest{.flow = "offer_purchase",
                                          .input = json::object{{"user_id", s.user},
                                                                {"offer_id", s.offer},
                                                                {"price", s.price}}})
                      .get()
                      .saga_id;
    }
    bool all_as_expected = true;
    for (auto& s : scenarios) {
      auto row = wait_until_final(store, s.saga_id);
      auto elapsed =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s.started);
      int steps = 0, compensations = 0;
      for (const auto& h : store.history(s.saga_id)) {
        steps += h.kind == "command_sent";
        compensations += h.kind == "compensation_sent";
      }
      bool ok = row.status == s.expected;
      all_as_expected = all_as_expected && ok;
      std::printf("%-15s %s %-12s steps=%d compensations=%d %7.1f ms  %s%s\n", row.flow.c_str(),
                  s.saga_id.c_str(), row.status.c_str(), steps, compensations, elapsed.count(),
                  s.name.c_str(), ok ? "" : ("  UNEXPECTED, wanted " + s.expected).c_str());
    }
    bool conserved = points_.conserved();
    std::printf(
        "invariant: points conserved (balance + reserved + spent == initial + refunded): %s\n",
        conserved ? "ok" : "BROKEN");
    bool one_debit = every_bought_order_has_one_debit();
    std::printf("invariant: every bought order has exactly one debit: %s\n",
                one_debit ? "ok" : "BROKEN");
    std::fflush(stdout);
    return all_as_expected && conserved && one_debit;
  }

 private:
  static SagaRow wait_until_final(Store& store, const std::string& id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto row = store.load(id);
      auto status = row ? status_from_string(row->status) : std::nullopt;
      if ((status && (is_final(*status) || *status == Status::failed)) ||
          std::chrono::steady_clock::now() > deadline) {
        return row.value_or(SagaRow{.id = id, .status = "missing"});
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  bool every_bought_order_has_one_debit() const {
    auto ledger = points_.ledger();
    std::size_t bought = 0;
    for (const auto& [id, order] : offers_.orders()) {
      bought += order.status == sagas::OffersService::OrderStatus::bought;
    }
    std::size_t net_debits = 0;
    for (const auto& e : ledger) {
      if (e.kind == "debit") ++net_debits;
      if (e.kind == "refund") --net_debits;
    }
    return bought == net_debits;
  }

  sagas::PointsService points_;
  sagas::OffersService offers_;
  worker::Dispatcher points_dispatcher_;
  worker::Dispatcher offers_dispatcher_;
};

}  // namespace sagaflow::demo
