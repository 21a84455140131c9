// The change feed: ids in commit order, a bounded ring, filters, the gap when a watcher fell
// behind, and the wake-ups.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sagaflow/engine/saga_changes.hpp"

using namespace sagaflow;

namespace {

SagaChange change(std::string saga, std::string flow, std::string status) {
  SagaChange c;
  c.saga_id = std::move(saga);
  c.flow = std::move(flow);
  c.status = std::move(status);
  return c;
}

std::vector<std::string> sagas_of(const SagaChangeFeed::Read& read) {
  std::vector<std::string> out;
  for (const auto& c : read.changes) out.push_back(c.saga_id);
  return out;
}

}  // namespace

TEST_CASE("the feed numbers changes in order and gives those after an id, filtered") {
  SagaChangeFeed feed(10);
  CHECK(feed.last_id() == 0);
  feed.publish({change("a", "order", "running"), change("b", "mail", "running")});
  feed.publish({change("a", "order", "completed")});
  CHECK(feed.last_id() == 3);

  auto all = feed.read_after(0, {}, 100);
  CHECK_FALSE(all.gap);
  CHECK(sagas_of(all) == std::vector<std::string>{"a", "b", "a"});
  CHECK(all.changes[2].id == 3);
  CHECK(all.next == 3);

  CHECK(sagas_of(feed.read_after(1, {}, 100)) == std::vector<std::string>{"b", "a"});
  CHECK(feed.read_after(3, {}, 100).changes.empty());

  ChangeFilter orders;
  orders.flows = {"order"};
  orders.statuses = {"completed"};
  auto done = feed.read_after(0, orders, 100);
  CHECK(sagas_of(done) == std::vector<std::string>{"a"});
  CHECK(done.next == 3);
  ChangeFilter b_only;
  b_only.saga_ids = {"b"};
  CHECK(sagas_of(feed.read_after(0, b_only, 100)) == std::vector<std::string>{"b"});

  auto first_two = feed.read_after(0, {}, 2);  // a batch at most
  CHECK(first_two.changes.size() == 2);
  CHECK(first_two.next == 2);
}

TEST_CASE("a watcher behind the ring, or with an id the feed never gave, is told of a gap") {
  SagaChangeFeed feed(3);
  for (int i = 0; i < 5; ++i) feed.publish({change("s" + std::to_string(i), "f", "running")});
  auto behind = feed.read_after(1, {}, 100);  // 2 is gone: 3, 4, 5 are kept
  CHECK(behind.gap);
  CHECK(behind.oldest == 3);
  CHECK(behind.next == 5);
  CHECK(behind.changes.empty());
  CHECK_FALSE(feed.read_after(2, {}, 100).gap);
  CHECK(feed.read_after(2, {}, 100).changes.size() == 3);
  CHECK(feed.read_after(9, {}, 100).gap);  // from before a restart, say
}

TEST_CASE("every watcher is woken after each publish until its handle is dropped") {
  SagaChangeFeed feed;
  int first = 0;
  int second = 0;
  auto watch_first = feed.watch([&] { ++first; });
  {
    auto watch_second = feed.watch([&] { ++second; });
    feed.publish({change("a", "f", "running")});
  }
  feed.publish({change("a", "f", "completed")});
  feed.publish({});  // nothing committed: nobody woken
  CHECK(first == 2);
  CHECK(second == 1);
}
