#pragma once
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

class SystemClock final : public Clock {
 public:
  Timestamp now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

}  // namespace sagaflow
