#include "pipeline.hpp"

#include "errors.hpp"
#include "sagaflow/postgres/errors.hpp"

namespace sagaflow::postgres {

Pipeline::Pipeline(Connection& connection) : connection_(connection) {
  connection_.enter_pipeline_mode();
}

Pipeline::~Pipeline() {
  // Left half-way (an exception between the first statement and the sync's result): the
  // connection holds results nobody will read, and is no use any more.
  if (!done_) connection_.finish();
}

void Pipeline::prepare(const std::string& name, const std::string& sql) {
  connection_.send_prepare(name, sql);
  ++sent_;
}

void Pipeline::execute(const std::string& name, const Params& params) {
  connection_.send_query_prepared(name, params);
  ++sent_;
}

void Pipeline::execute_unprepared(const std::string& sql, const Params& params) {
  connection_.send_query_params(sql, params);
  ++sent_;
}

void Pipeline::send(Deadline deadline) {
  connection_.pipeline_sync();
  connection_.flush(deadline);
}

void Pipeline::receive(Deadline deadline) {
  results_.reserve(sent_);
  for (std::size_t i = 0; i < sent_; ++i) {
    Result result = connection_.get_result(deadline);
    if (!result) throw Error("postgres: pipeline out of step: no result for a statement");
    const Result::Status status = result.status();
    if (status == Result::Status::error) {
      if (!connection_.ok() || is_connection_loss(result.sqlstate())) {
        throw ConnectionError("postgres: connection lost: " + result.message());
      }
      if (!first_error_) first_error_ = i;
    }
    // Every statement's results end with a null one.
    if (Result end = connection_.get_result(deadline)) {
      if (end.status() == Result::Status::error) {
        throw ConnectionError("postgres: connection lost: " + end.message());
      }
      throw Error("postgres: pipeline out of step: two results for one statement");
    }
    results_.push_back(std::move(result));
  }
  Result sync = connection_.get_result(deadline);
  if (!sync || sync.status() != Result::Status::pipeline_sync) {
    if (sync && sync.status() == Result::Status::error) {
      throw ConnectionError("postgres: connection lost: " + sync.message());
    }
    throw Error("postgres: pipeline out of step: no sync at its end");
  }
  connection_.exit_pipeline_mode();
  done_ = true;
}

void Pipeline::throw_if_failed(std::string_view context) const {
  if (first_error_) throw_error(results_[*first_error_], context);
}

}  // namespace sagaflow::postgres
