// Participants::open_state: the example participants' state in a durable SQLite file, kept as a
// journal of the commands they answered, written in the transactional inbox's transaction.
#include <stdexcept>
#include <utility>

#include "sagaflow/sagas/participants.hpp"
#include "sagaflow/sqlite/inbox_database.hpp"
#include "sagaflow/worker/inbox.hpp"

namespace sagaflow::sagas {

namespace {

// A command as the journal keeps it: every field of the envelope a handler may read.
std::string journal_entry(const Message& m) {
  return json::serialize(json::object{{"id", m.id},
                                      {"type", m.type},
                                      {"destination", m.destination},
                                      {"correlation_id", m.correlation_id},
                                      {"reply_to", m.reply_to},
                                      {"idempotency_key", m.idempotency_key},
                                      {"flow", m.flow},
                                      {"step", m.step},
                                      {"attempt", m.attempt},
                                      {"traceparent", m.traceparent},
                                      {"body", m.body}});
}

Message command_from(std::string_view entry) {
  const json::object o = json::parse(entry).as_object();
  auto text = [&](const char* field) { return std::string(o.at(field).as_string()); };
  Message m;
  m.kind = MessageKind::command;
  m.id = text("id");
  m.type = text("type");
  m.destination = text("destination");
  m.correlation_id = text("correlation_id");
  m.reply_to = text("reply_to");
  m.idempotency_key = text("idempotency_key");
  m.flow = text("flow");
  m.step = text("step");
  m.attempt = static_cast<std::uint32_t>(o.at("attempt").to_number<std::int64_t>());
  m.traceparent = text("traceparent");
  m.body = text("body");
  return m;
}

// Runs `work` in one transaction of `db`, under its mutex.
template <class Work>
void in_transaction(worker::Database& db, Work work) {
  std::lock_guard lock(db.mutex());
  worker::Sql& sql = db.begin();
  try {
    work(sql);
  } catch (...) {
    db.rollback();
    throw;
  }
  db.commit();
}

}  // namespace

struct Participants::State {
  std::shared_ptr<sqlite::InboxDatabase> database;
  // The business rules, in memory: the dispatchers served wrap these, journaling each command
  // before it reaches them. Their own in-memory dedup makes a command that ran in a group whose
  // commit then failed answer the same when it comes again, so memory and file agree.
  std::map<std::string, worker::Dispatcher> rules;
};

void Participants::open_state(const std::string& path, std::string_view setup) {
  if (state_) throw std::logic_error("open_state: the state is open already");
  auto state = std::make_shared<State>();
  state->database = std::make_shared<sqlite::InboxDatabase>(path);
  state->rules = std::move(dispatchers_);
  dispatchers_.clear();

  // The file's tables, its setup, and the replay of what it journaled, in commit order.
  in_transaction(*state->database, [&](worker::Sql& sql) {
    sql.query(
        "CREATE TABLE IF NOT EXISTS participant_journal (seq INTEGER PRIMARY KEY, service TEXT "
        "NOT NULL, message TEXT NOT NULL)");
    sql.query("CREATE TABLE IF NOT EXISTS participant_setup (setup TEXT NOT NULL)");
    const auto recorded = sql.scalar("SELECT setup FROM participant_setup");
    if (!recorded) {
      sql.query("INSERT INTO participant_setup (setup) VALUES ($1)", {std::string(setup)});
    } else if (*recorded != setup) {
      throw std::runtime_error("the state file " + path + " was started with setup '" + *recorded +
                               "', not '" + std::string(setup) +
                               "': its journal only replays on the same start");
    }
    for (const auto& row :
         sql.query("SELECT service, message FROM participant_journal ORDER BY seq")) {
      auto rules = state->rules.find(row[0].value_or(""));
      if (rules == state->rules.end()) {
        throw std::runtime_error("the state file " + path + " journals an unknown service '" +
                                 row[0].value_or("") + "'");
      }
      rules->second.handle(command_from(row[1].value_or("{}")));
    }
  });

  for (auto& [service, rules] : state->rules) {
    worker::Dispatcher served(
        std::make_shared<worker::Inbox>(state->database, worker::InboxOptions{service, {}}));
    for (const auto& type : rules.command_types()) {
      served.on(type, [service, &rules](const worker::Command& c) {
        c.transaction->query("INSERT INTO participant_journal (service, message) VALUES ($1, $2)",
                             {service, journal_entry(c.message)});
        Message reply = rules.handle(c.message);
        boost::system::error_code ec;
        json::value payload = json::parse(reply.body, ec);
        if (ec) payload = json::object{};
        return worker::Result{reply.outcome, std::move(reply.error_code), std::move(payload)};
      });
    }
    dispatchers_.emplace(service, std::move(served));
  }
  state_ = std::move(state);
}

}  // namespace sagaflow::sagas
