// The participants' state in a durable SQLite file (Participants::open_state): what a process
// applied survives its end, kill -9 included (a forked child _exits right after its commit, as
// SIGKILL would end it before it acknowledged), and a redelivery is answered the same reply
// without being applied again.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "sagaflow/sagas/demo_data.hpp"
#include "sagaflow/sagas/participants.hpp"
#include "support/send_command.hpp"
#include "support/temp_folder.hpp"

namespace {

using namespace sagaflow;

// The state file, in a folder of its own.
struct StateFolder {
  std::string file() const { return folder.file("participants.db"); }
  testing::TempFolder folder;
};

Message reserve(sagas::Participants& p, const std::string& order, std::int64_t amount,
                const std::string& key) {
  return testing::send_command(
      *p.dispatcher("points"), "points.reserve",
      json::object{{"user_id", "alice"}, {"amount", amount}, {"order_id", order}}, key);
}

}  // namespace

TEST_CASE("participants: state, ledger and deduplication outlive the process in the state file") {
  StateFolder folder;
  std::string first_reply;
  {
    sagas::Participants p;
    sagas::seed_demo_data(p);
    p.open_state(folder.file(), "demo-data");
    CHECK(p.durable());
    const auto reply = reserve(p, "o-1", 300, "k-1");
    REQUIRE(reply.outcome == ReplyOutcome::success);
    first_reply = reply.body;
    CHECK(reserve(p, "o-2", 5000, "k-2").error_code == "InsufficientPoints");
    CHECK(p.points.account("alice").balance == 700);
  }
  sagas::Participants again;
  sagas::seed_demo_data(again);
  again.open_state(folder.file(), "demo-data");
  CHECK(again.points.account("alice").balance == 700);
  CHECK(again.points.account("alice").reserved == 300);
  CHECK(again.applied_keys("points") == std::vector<std::string>{"k-1"});
  // The redelivery of an applied command: the same reply, nothing applied again.
  CHECK(reserve(again, "o-1", 300, "k-1").body == first_reply);
  CHECK(reserve(again, "o-2", 5000, "k-2").error_code == "InsufficientPoints");
  CHECK(again.points.account("alice").balance == 700);
  // A new command after the restart continues from the restored state (ids included).
  const auto next = reserve(again, "o-3", 100, "k-3");
  CHECK(next.outcome == ReplyOutcome::success);
  CHECK(next.body != first_reply);
  CHECK(again.points.account("alice").balance == 600);
  CHECK(again.report({"points"}).at("points").at("applied").as_int64() == 2);
  CHECK(again.report({"points"}).at("points").at("repeated").as_int64() == 0);
}

TEST_CASE("participants: a process killed after its commit is answered the same on redelivery") {
  StateFolder folder;
  std::fflush(nullptr);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    sagas::Participants p;
    sagas::seed_demo_data(p);
    p.open_state(folder.file(), "demo-data");
    const auto reply = reserve(p, "o-1", 250, "k-1");
    ::_exit(reply.outcome == ReplyOutcome::success ? 9 : 1);  // killed before any ack
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 9);

  sagas::Participants p;
  sagas::seed_demo_data(p);
  p.open_state(folder.file(), "demo-data");
  CHECK(p.points.account("alice").balance == 750);
  const auto redelivered = reserve(p, "o-1", 250, "k-1");
  CHECK(redelivered.outcome == ReplyOutcome::success);
  CHECK(p.points.account("alice").balance == 750);
  CHECK(p.applied_keys("points") == std::vector<std::string>{"k-1"});
}

TEST_CASE("participants: a state file seeded otherwise is refused, not replayed wrongly") {
  StateFolder folder;
  {
    sagas::Participants p;
    sagas::seed_demo_data(p);
    p.open_state(folder.file(), "demo-data");
    reserve(p, "o-1", 10, "k-1");
  }
  sagas::Participants bare;
  CHECK_THROWS_WITH_AS(bare.open_state(folder.file(), "empty"),
                       doctest::Contains("was started with setup 'demo-data'"), std::runtime_error);
}
