#pragma once
// What both sides of the RabbitMQ transport are configured with: where the broker is, how to
// reach it (TLS), and the names of the topology. No rabbitmq-c type appears here.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sagaflow::rabbitmq {

// Every failure of this adapter: connection, declaration, publish (unroutable, refused,
// unconfirmed, not connected). Its text never contains a password.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TlsSettings {
  bool enabled = false;   // set by an amqps:// URL
  std::string ca_file;    // PEM bundle that signs the broker's certificate
  std::string cert_file;  // client certificate (PEM), for brokers that require one
  std::string key_file;   // its private key (PEM)
  bool verify_peer = true;
  bool verify_hostname = true;
};

struct ConnectionSettings {
  std::string host = "127.0.0.1";
  int port = 5672;
  std::string vhost = "/";
  std::string user = "guest";
  std::string password = "guest";  // never printed: see redacted_url()
  TlsSettings tls;
  // The broker closes a connection that misses two heartbeats; the I/O thread services them
  // even while the caller is busy.
  std::chrono::seconds heartbeat{10};
  std::chrono::milliseconds connect_timeout{5000};
  // Reconnect backoff (sagaflow/engine/backoff.hpp): steps from `reconnect_min` doubling up to
  // `reconnect_max`, each wait drawn at random from the upper half of its step.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Told, on the connection's I/O thread, of every connection made (`up`, error empty) and of
  // every attempt that failed or connection lost (error says why, with the password masked).
  // A deliberate close (the destructor, a change of the queues consumed) is not reported. It
  // must return quickly and never call back into the transport or worker. Empty: nobody.
  std::function<void(bool up, const std::string& error)> on_connection;

  // amqp://user:password@host:port/vhost or amqps://... (rabbitmq-c's amqp_parse_url; an empty
  // vhost means "/"). Throws Error, with the password masked, when the URL is not one.
  static ConnectionSettings from_url(std::string_view url);
  // The broker's address for messages and logs: amqp(s)://user:****@host:port/vhost.
  std::string redacted_url() const;
};

// A URL with its password replaced by ****, for any message that must mention one.
std::string mask_password(std::string_view url);

// The type of the queues the adapter declares. Quorum (the default, the wire contract of
// docs/protocol.md) is what a cluster needs and the only type with a delivery limit. Classic
// (durable, persistent messages, confirms, dead-lettering of rejected messages all kept) hands a
// message to its consumer before the disk write that a quorum queue waits for, but has no
// delivery limit: a command that crashes its worker every time comes back forever instead of
// being dead-lettered. One type per deployment: a queue's type cannot change once declared.
enum class QueueType { quorum, classic };
// "quorum" or "classic"; throws Error for anything else.
QueueType queue_type_from(std::string_view text);

// The names of the topology, all derived from one prefix so that several deployments (or test
// cases) can share a vhost. The defaults are the wire contract of docs/protocol.md.
struct Topology {
  std::string prefix = "sagaflow";
  // Quorum queues dead-letter a message delivered this many times without an ack.
  std::uint32_t delivery_limit = 3;
  QueueType queue_type = QueueType::quorum;

  std::string commands_exchange() const { return prefix + ".commands"; }  // topic, key = service
  std::string events_exchange() const { return prefix + ".events"; }      // topic, key = event type
  std::string dead_exchange() const { return prefix + ".dead"; }          // fanout
  std::string command_queue(std::string_view service) const {
    return prefix + ".commands." + std::string(service);
  }
  std::string reply_queue() const { return prefix + ".replies"; }
  // With several orchestrators: the replies of one partition's sagas (EngineOptions::partitions
  // makes each command's reply_to name it).
  std::string reply_queue(int partition) const {
    return prefix + ".replies." + std::to_string(partition);
  }
  std::string orchestrator_events_queue() const { return prefix + ".orchestrator.events"; }
  std::string dead_letter_queue() const { return prefix + ".dead-letters"; }
};

// Headers added to a message the adapter dead-letters, itself or on request
// (docs/protocol.md §9): the human-readable reason, its code, the queue it came from.
inline constexpr std::string_view kReasonHeader = "x-sagaflow-reason";
inline constexpr std::string_view kReasonCodeHeader = "x-sagaflow-reason-code";
inline constexpr std::string_view kQueueHeader = "x-sagaflow-queue";

inline constexpr std::size_t kDefaultMaxMessageBytes = 1024 * 1024;

}  // namespace sagaflow::rabbitmq
