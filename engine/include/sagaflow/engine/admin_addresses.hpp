#pragma once
// Several orchestrators: where each one's admin endpoint answers, so that an operator's request
// for a saga in another orchestrator's partition is forwarded to its owner (docs/admin-api.md,
// "Any orchestrator answers"). The PostgreSQL store implements it beside PartitionedStore.
#include <optional>
#include <string>
#include <string_view>

namespace sagaflow {

// Who holds a partition's lease now, and where its admin endpoint answers.
struct PartitionOwner {
  std::string owner;
  std::string admin_url;  // empty when the owner did not advertise one
};

class AdminAddresses {
 public:
  virtual ~AdminAddresses() = default;
  // Records where `owner`'s admin endpoint answers (sagaflowd --admin-advertise-url).
  virtual void advertise(std::string_view owner, std::string_view admin_url) = 0;
  // The live owner of `partition` (its lease not expired) and its advertised admin URL;
  // nullopt when nobody holds it now.
  virtual std::optional<PartitionOwner> owner_of(int partition) = 0;
};

}  // namespace sagaflow
