// Every lifecycle transition, legal and refused.
#include <doctest/doctest.h>

#include "sagaflow/engine/lifecycle.hpp"

using sagaflow::Lifecycle;
using sagaflow::Status;

TEST_CASE("the forward path: pending, running, waiting, running, completed") {
  Lifecycle lc(Status::pending);
  CHECK(lc.status() == Status::pending);
  CHECK(lc.start());
  CHECK(lc.status() == Status::running);
  CHECK(lc.await_events());
  CHECK(lc.status() == Status::waiting);
  CHECK_FALSE(lc.finish());  // a waiting saga resumes before it finishes
  CHECK(lc.resume());
  CHECK(lc.finish());
  CHECK(lc.status() == Status::completed);
}

TEST_CASE("a failure compensates before the pivot and parks after it") {
  for (auto from : {Status::running, Status::waiting}) {
    Lifecycle before(from);
    CHECK(before.fail(false));
    CHECK(before.status() == Status::compensating);
    Lifecycle after(from);
    CHECK(after.fail(true));
    CHECK(after.status() == Status::failed);
  }
}

TEST_CASE("compensation ends compensated, or cancelled when a cancel asked for it") {
  Lifecycle plain(Status::compensating);
  CHECK(plain.compensated(false));
  CHECK(plain.status() == Status::compensated);
  Lifecycle cancelled(Status::compensating);
  CHECK(cancelled.compensated(true));
  CHECK(cancelled.status() == Status::cancelled);
  Lifecycle stuck(Status::compensating);
  CHECK(stuck.stuck());
  CHECK(stuck.status() == Status::failed);
}

TEST_CASE("cancel: before the pivot it compensates, a pending saga is cancelled at once") {
  Lifecycle running(Status::running);
  CHECK(running.cancel(false));
  CHECK(running.status() == Status::compensating);
  Lifecycle past(Status::running);
  CHECK_FALSE(past.cancel(true));
  CHECK(past.status() == Status::running);
  Lifecycle pending(Status::pending);
  CHECK(pending.cancel(false));
  CHECK(pending.status() == Status::cancelled);
}

TEST_CASE("an operator retry resumes a parked saga where it was parked") {
  Lifecycle in_compensation(Status::failed);
  CHECK(in_compensation.operator_retry(true));
  CHECK(in_compensation.status() == Status::compensating);
  Lifecycle forward(Status::failed);
  CHECK(forward.operator_retry(false));
  CHECK(forward.status() == Status::running);
}

TEST_CASE("final statuses refuse every request") {
  for (auto final_status : {Status::completed, Status::compensated, Status::cancelled}) {
    Lifecycle lc(final_status);
    CHECK(lc.status() == final_status);
    CHECK_FALSE(lc.start());
    CHECK_FALSE(lc.cancel(false));
    CHECK_FALSE(lc.fail(false));
    CHECK_FALSE(lc.operator_retry(false));
    CHECK_FALSE(lc.finish());
    CHECK(lc.status() == final_status);
    CHECK(sagaflow::is_final(final_status));
  }
  CHECK_FALSE(sagaflow::is_final(Status::failed));
}

TEST_CASE("every status reads back from its stored name") {
  for (auto s : {Status::pending, Status::running, Status::waiting, Status::compensating,
                 Status::completed, Status::compensated, Status::failed, Status::cancelled}) {
    CHECK(sagaflow::status_from_string(sagaflow::to_string(s)) == s);
    CHECK(Lifecycle(s).status() == s);
  }
  CHECK_FALSE(sagaflow::status_from_string("bogus").has_value());
}
