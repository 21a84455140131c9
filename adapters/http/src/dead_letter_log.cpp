#include "sagaflow/http/dead_letter_log.hpp"

#include "sagaflow/http/log.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagaflow::http {

DeadLetterLog::DeadLetterLog(std::uint32_t lines_per_second, Now now)
    : now_(std::move(now)), limit_(lines_per_second) {}

DeadLetterLog::~DeadLetterLog() {
  std::lock_guard lock(mutex_);
  if (const auto held_back = limit_.suppressed(); held_back > 0) {
    log::warn("dead letters not logged", {{"suppressed", held_back}});
  }
}

void DeadLetterLog::dead_lettered(const DeadLetterNotice& notice) {
  log::RateLimit::Verdict verdict;
  {
    std::lock_guard lock(mutex_);
    verdict = limit_.admit(now_());
  }
  if (!verdict.write) return;
  log::warn("message dead-lettered", {{"reason", to_string(notice.code)},
                                      {"detail", text::printable(notice.detail)},
                                      {"queue", text::printable(notice.queue)},
                                      {"message_id", text::printable(notice.message_id)},
                                      {"suppressed", verdict.suppressed}});
}

}  // namespace sagaflow::http
