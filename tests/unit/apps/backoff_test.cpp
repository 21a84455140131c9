// The reconnect backoff: exponential steps, each wait in the upper half of its step as the
// injected random source draws it, capped, and back to the first step after a success.
#include <doctest/doctest.h>

#include <vector>

#include "sagaflow/engine/backoff.hpp"

using namespace std::chrono_literals;
using sagaflow::Backoff;
using sagaflow::BackoffPolicy;

namespace {

// Draws the values given, in turn, again and again.
Backoff::Random sequence(std::vector<double> draws) {
  return [draws, at = std::size_t{0}]() mutable { return draws[at++ % draws.size()]; };
}

}  // namespace

TEST_CASE("each wait lies in the upper half of a step that doubles up to the maximum") {
  Backoff backoff(BackoffPolicy{.first = 100ms, .max = 1000ms}, sequence({0.0, 0.5, 0.999, 0.25}));
  CHECK(backoff.next() == 50ms);   // step 100: 50 + 0.0 * 50
  CHECK(backoff.next() == 150ms);  // step 200: 100 + 0.5 * 100
  CHECK(backoff.next() == 399ms);  // step 400: 200 + 0.999 * 200
  CHECK(backoff.next() == 500ms);  // step 800: 400 + 0.25 * 400
  CHECK(backoff.next() == 500ms);  // step 1000 (the cap): 500 + 0.0 * 500
  CHECK(backoff.next() == 750ms);
  CHECK(backoff.next() == 999ms);
}

TEST_CASE("a success starts the steps again from the first") {
  Backoff backoff(BackoffPolicy{.first = 100ms, .max = 5000ms}, sequence({1.0}));
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 200ms);
  CHECK(backoff.next() == 400ms);
  backoff.reset();
  CHECK(backoff.next() == 100ms);
}

TEST_CASE("draws outside [0, 1] and a maximum below the first step are clamped") {
  Backoff backoff(BackoffPolicy{.first = 300ms, .max = 10ms}, sequence({7.0, -3.0}));
  CHECK(backoff.next() == 300ms);
  CHECK(backoff.next() == 150ms);
}

TEST_CASE("the production random source stays within the step") {
  Backoff backoff(BackoffPolicy{.first = 1000ms, .max = 1000ms}, sagaflow::system_random());
  for (int i = 0; i < 100; ++i) {
    const auto wait = backoff.next();
    CHECK(wait >= 500ms);
    CHECK(wait <= 1000ms);
  }
}
