#pragma once
// Statements sent together and answered together: one round trip for any number of them
// (libpq's pipeline mode). Results come back in the order sent, one per statement; after an
// error the server skips the rest up to the sync (their results are "aborted").
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "result.hpp"

namespace sagaflow::postgres {

class Pipeline {
 public:
  // Enters pipeline mode.
  explicit Pipeline(Connection& connection);
  // Closes the connection when the pipeline was not read to its end (an exception left it
  // half-way): results nobody reads would answer the next statements.
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Queues a PQsendPrepare.
  void prepare(const std::string& name, const std::string& sql);
  // Queues a prepared statement with its parameters (libpq copies them: `params` may go).
  void execute(const std::string& name, const Params& params);
  // Queues a statement that is not prepared (PQsendQueryParams): planned for this run.
  void execute_unprepared(const std::string& sql, const Params& params);
  std::size_t size() const { return sent_; }

  // Ends the pipeline with a sync and sends everything.
  void send(Deadline deadline);
  // Reads one result per statement, then the sync's, and leaves pipeline mode. Throws
  // ConnectionError when the connection is lost (also when the server reports that it is going
  // away).
  void receive(Deadline deadline);
  void run(Deadline deadline) {
    send(deadline);
    receive(deadline);
  }

  Result& result(std::size_t index) { return results_[index]; }
  // The index of the statement that failed; the ones after it were skipped.
  std::optional<std::size_t> first_error() const { return first_error_; }
  // Throws the first error's type (errors.hpp), with `context`.
  void throw_if_failed(std::string_view context) const;

 private:
  Connection& connection_;
  std::size_t sent_ = 0;
  std::vector<Result> results_;
  std::optional<std::size_t> first_error_;
  bool done_ = false;
};

}  // namespace sagaflow::postgres
