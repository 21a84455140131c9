#pragma once
// The command line of payments_service:
//
//   payments_service --amqp URL [--listen 127.0.0.1:8085] [--prefix sagaflow]
//
// SAGAFLOW_AMQP_URL stands for --amqp; SAGAFLOW_PAYMENTS_WEBHOOK_SECRET, when set, makes
// webhooks signed (an environment variable, so that the secret is not in `ps`).
#include <string>

#include "server.hpp"

namespace payments_service {

std::string usage();

// Fills `options`; returns what is wrong, "help" for --help, or "" when usable. Reads the
// environment for what the command line leaves out.
std::string parse_options(int argc, const char* const* argv, Options& options);

}  // namespace payments_service
