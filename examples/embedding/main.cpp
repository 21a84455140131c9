// hello_worker: serves the command "hello.greet" of the service "hello" over RabbitMQ.
//   hello_worker --amqp amqp://guest:guest@127.0.0.1:5672/
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "sagaflow/rabbitmq/worker.hpp"
#include "sagaflow/worker/typed.hpp"

struct Greet {
  std::string name;
  template <class A>
  void serialize(A& a) {
    a(CEREAL_NVP(name));
  }
};
struct Greeted {
  std::string greeting;
  template <class A>
  void serialize(A& a) {
    a(CEREAL_NVP(greeting));
  }
};

int main(int argc, char** argv) {
  if (argc != 3 || std::string_view(argv[1]) != "--amqp") {
    std::fputs("usage: hello_worker --amqp amqp://user:password@host:port/vhost\n", stdout);
    return argc == 2 && std::string_view(argv[1]) == "--help" ? 0 : 2;
  }
  sagaflow::worker::Dispatcher dispatcher;
  sagaflow::worker::on<Greet, Greeted>(
      dispatcher, "hello.greet",
      [](const Greet& g, const sagaflow::Message&) -> sagaflow::worker::Outcome<Greeted> {
        if (g.name.empty()) return sagaflow::worker::Outcome<Greeted>::business_failure("NoName");
        return Greeted{"Hello, " + g.name + "!"};
      });

  sagaflow::rabbitmq::WorkerSettings settings;
  settings.connection = sagaflow::rabbitmq::ConnectionSettings::from_url(argv[2]);
  settings.service = "hello";  // consumes sagaflow.commands.hello

  boost::asio::io_context io;  // handlers run here, on this thread
  auto guard = boost::asio::make_work_guard(io);
  sagaflow::rabbitmq::Worker worker(io, dispatcher, settings);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  std::fprintf(stderr, "hello_worker: serving at %s\n", settings.connection.redacted_url().c_str());
  io.run();
}
