// Any orchestrator answers: an operator request the orchestrator refuses with NotOwner is sent
// on to the saga's owner (here a fake admin endpoint), whose answer comes back; a request that
// was forwarded already is never forwarded again; an owner gone or silent is a 503 saying so.
#include <doctest/doctest.h>

#include "../../integration/sagactl/fake_admin.hpp"
#include "api_world.hpp"
#include "support/forwarding_backend.hpp"

using namespace sagaflow::http::testing;
using sagaflow::NotOwner;
using sagaflow::PartitionOwner;
using sagaflow::http::AdminApi;
using sagaflow::http::AdminOptions;
using sagaflow::http::Response;

namespace {

constexpr std::string_view kToken = "fwd-token";

// The real backend, but every cancel and retry is another orchestrator's saga.
class NotOwnerBackend : public sagaflow::testing::ForwardingBackend {
 public:
  using ForwardingBackend::ForwardingBackend;
  std::future<void> cancel(std::string id, std::string) override { return refused(id); }
  std::future<void> retry(std::string id) override { return refused(id); }
  std::optional<PartitionOwner> owner_of(int partition) override {
    asked = partition;
    return owner;
  }
  std::optional<PartitionOwner> owner;
  int asked = -1;

 private:
  static std::future<void> refused(const std::string& id) {
    std::promise<void> p;
    p.set_exception(std::make_exception_ptr(
        NotOwner("saga " + id + " is in partition 3, owned by another orchestrator", 3)));
    return p.get_future();
  }
};

struct World {
  ApiWorld world;  // its own API, without a token, starts the sagas
  NotOwnerBackend backend{world.backend};
  AdminApi api{backend, AdminOptions{.token = std::string(kToken),
                                     .forward_timeout = std::chrono::milliseconds(3000)}};

  Response post(const std::string& target, const std::string& body, bool forwarded = false) {
    auto req = ApiWorld::request(verb::post, target, body, kToken);
    if (forwarded) req.set("X-Sagaflow-Forwarded", "1");
    return posted_flow_answer(api.handle_request(req));
  }
};

}  // namespace

TEST_CASE("a cancel for another orchestrator's saga is forwarded to its owner and answered") {
  World w;
  const auto id = w.world.start(1);
  sagaflow::testing::FakeAdmin owner;
  owner.on("POST", "/api/sagas/" + id + "/cancel",
           {200, R"({"id": ")" + id + R"(", "status": "compensating"})"});
  w.backend.owner = PartitionOwner{"orchestrator-1", owner.url()};

  auto res = w.post("/api/sagas/" + id + "/cancel", R"({"reason": "elsewhere"})");
  CHECK(res.result_int() == 200);
  CHECK(body_of(res).at("status") == "compensating");
  CHECK(res["X-Sagaflow-Answered-By"] == "orchestrator-1");
  CHECK(w.backend.asked == 3);
  const auto got = owner.last();
  CHECK(got.method == "POST");
  CHECK(got.target == "/api/sagas/" + id + "/cancel");
  CHECK(got.body == R"({"reason": "elsewhere"})");
  CHECK(got.authorization == "Bearer " + std::string(kToken));

  // The owner's refusal comes back as it is, a retry's too.
  owner.on("POST", "/api/sagas/" + id + "/retry",
           {409, R"({"error": {"code": "conflict", "message": "retry needs a failed saga"}})"});
  auto refused = w.post("/api/sagas/" + id + "/retry", "");
  CHECK(refused.result_int() == 409);
  CHECK(error_code(refused) == "conflict");
}

TEST_CASE("a forwarded request is never forwarded again") {
  World w;
  const auto id = w.world.start(1);
  sagaflow::testing::FakeAdmin owner;
  w.backend.owner = PartitionOwner{"orchestrator-1", owner.url()};
  auto res = w.post("/api/sagas/" + id + "/cancel", "", true);
  CHECK(res.result_int() == 503);
  CHECK(error_code(res) == "unavailable");
  CHECK(body_of(res).at("error").at("details").at("reason") == "forwarded_to_non_owner");
  CHECK(owner.requests().empty());
}

TEST_CASE("the owner gone, or not answering, is a 503 that says so") {
  World w;
  const auto id = w.world.start(1);
  auto gone = w.post("/api/sagas/" + id + "/cancel", "");
  CHECK(gone.result_int() == 503);
  const auto details = body_of(gone).at("error").at("details");
  CHECK(details.at("reason") == "owner_gone");
  CHECK(details.at("partition") == 3);
  CHECK(std::string(body_of(gone).at("error").at("message").as_string()).find("no live owner") !=
        std::string::npos);

  // Alive in the leases, but nothing listens at its URL.
  std::string silent;
  {
    sagaflow::testing::FakeAdmin closed;
    silent = closed.url();
  }
  w.backend.owner = PartitionOwner{"orchestrator-1", silent};
  auto unreachable = w.post("/api/sagas/" + id + "/cancel", "");
  CHECK(unreachable.result_int() == 503);
  CHECK(body_of(unreachable).at("error").at("details").at("reason") == "owner_unreachable");
  CHECK(body_of(unreachable).at("error").at("details").at("owner") == "orchestrator-1");
}
