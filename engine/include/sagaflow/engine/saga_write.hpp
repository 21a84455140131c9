#pragma once
// Editing a SagaWrite so that it stays normalised: within one write a timer key is either set
// (once, as last set) or cleared, never both. The engine builds writes with these,
// and the orchestrator merges several inputs' writes for one saga with them.
#include <algorithm>
#include <iterator>
#include <string>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

inline void set_timer(SagaWrite& write, TimerRow timer) {
  std::erase(write.timers_cleared, timer.key);
  auto it = std::find_if(write.timers_set.begin(), write.timers_set.end(),
                         [&](const TimerRow& t) { return t.key == timer.key; });
  if (it != write.timers_set.end()) {
    *it = std::move(timer);
  } else {
    write.timers_set.push_back(std::move(timer));
  }
}

inline void clear_timer(SagaWrite& write, std::string key) {
  std::erase_if(write.timers_set, [&](const TimerRow& t) { return t.key == key; });
  if (std::find(write.timers_cleared.begin(), write.timers_cleared.end(), key) ==
      write.timers_cleared.end()) {
    write.timers_cleared.push_back(std::move(key));
  }
}

// Whether the write sets or clears the timer `key`.
inline bool touches_timer(const SagaWrite& write, const std::string& key) {
  return std::any_of(write.timers_set.begin(), write.timers_set.end(),
                     [&](const TimerRow& t) { return t.key == key; }) ||
         std::find(write.timers_cleared.begin(), write.timers_cleared.end(), key) !=
             write.timers_cleared.end();
}

// Appends `later`'s effects to `earlier`, as if both inputs had been one transition. The saga row
// and the expected version stay `earlier`'s.
inline void merge(SagaWrite& earlier, SagaWrite&& later) {
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(earlier.history, later.history);
  append(earlier.outbox, later.outbox);
  append(earlier.subscribe, later.subscribe);
  append(earlier.unsubscribe, later.unsubscribe);
  append(earlier.links, later.links);
  for (auto& key : later.timers_cleared) clear_timer(earlier, std::move(key));
  for (auto& timer : later.timers_set) set_timer(earlier, std::move(timer));
}

}  // namespace sagaflow
