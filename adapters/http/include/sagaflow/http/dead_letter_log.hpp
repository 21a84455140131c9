#pragma once
// One warn line in the daemon's JSON log per message dead-lettered, rate-limited:
//
//   {"ts":"...","level":"warn","msg":"message dead-lettered","reason":"not_json",
//    "detail":"body is not JSON: syntax error","queue":"sagaflow.replies","message_id":"r-1",
//    "suppressed":0}
//
// `reason` is the code (DeadLetterCode); `detail`, `queue` and `message_id` come from the
// message and are escaped (text::printable); the body never appears. At most `lines_per_second`
// lines a second: those held back are counted, and the next line written says how many in
// `suppressed`; the destructor writes one line for any still held back. The metric
// sagaflow_dead_lettered_total counts every dead letter whatever the log held back.
//
// Threading: dead_lettered may be called from any thread (transports call it on their I/O
// threads); a lock guards the limit.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

#include "sagaflow/engine/dead_letter.hpp"
#include "sagaflow/http/rate_limit.hpp"

namespace sagaflow::http {

class DeadLetterLog final : public DeadLetterObserver {
 public:
  using Now = std::function<log::RateLimit::Time()>;

  static constexpr std::uint32_t kDefaultLinesPerSecond = 10;

  // `now` reads the monotonic clock the limit is measured on (tests give a manual one).
  explicit DeadLetterLog(std::uint32_t lines_per_second = kDefaultLinesPerSecond,
                         Now now = std::chrono::steady_clock::now);
  ~DeadLetterLog() override;
  DeadLetterLog(const DeadLetterLog&) = delete;
  DeadLetterLog& operator=(const DeadLetterLog&) = delete;

  void dead_lettered(const DeadLetterNotice& notice) override;

 private:
  const Now now_;
  std::mutex mutex_;
  log::RateLimit limit_;
};

}  // namespace sagaflow::http
