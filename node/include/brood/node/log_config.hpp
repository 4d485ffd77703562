#pragma once
// Logging: request logs (disable-logging, log-4xx, log-5xx, log-format), logger, logto,
// log-maxsize, daemonize. Filled by the CLI (cli/src/log_options.cpp).
namespace brood::node {

struct log_config {};

}  // namespace brood::node
