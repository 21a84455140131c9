#pragma once
// Retention's archive (`--archive-dir`): JSON lines in a folder, one file per UTC day of
// archiving (`sagas-YYYY-MM-DD.jsonl`), each line one saga with its history, the object
// GET /api/sagas/{id} answers (saga_json.hpp). A batch is appended and fsynced (the folder too
// when the file is new) before write() returns, so it is on disk before its sagas are removed.
//
// Threading: one write() at a time.
#include <filesystem>
#include <span>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/retention.hpp"

namespace sagaflow::http {

class JsonLinesArchive final : public RetentionArchive {
 public:
  // Creates the folder when missing (throws std::runtime_error when it cannot).
  JsonLinesArchive(std::filesystem::path dir, const FlowRegistry& flows, const Clock& clock);

  // Throws std::runtime_error (naming the file and the system's error) when the lines could not
  // all be written and synced.
  void write(std::span<const ArchivedSaga> sagas) override;

  // The file a batch archived at `at` goes to.
  std::filesystem::path file_for(Timestamp at) const;

 private:
  std::filesystem::path dir_;
  const FlowRegistry& flows_;
  const Clock& clock_;
};

}  // namespace sagaflow::http
