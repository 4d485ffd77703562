#pragma once
// Logging: request logs (disable-logging, log-4xx, log-5xx, log-slow, log-big, log-zero,
// log-format), logto, daemonize. Filled by the CLI (cli/src/log_options.cpp).
#include <chrono>
#include <cstddef>
#include <string>

namespace brood::node {

struct log_config {
  // disable-logging: no request lines, except those the log-* switches below ask for.
  bool disable_logging = false;
  bool log_4xx = false;                   // log-4xx: log the requests answered 400..499
  bool log_5xx = false;                   // log-5xx: log the requests answered 500..599
  std::chrono::milliseconds log_slow{0};  // log-slow: log requests slower than this (0: off)
  std::size_t log_big = 0;                // log-big: log replies bigger than this (0: off)
  bool log_zero = false;                  // log-zero: log replies with an empty body
  // log-format: the request line with uWSGI's %(name) variables; empty: uWSGI's default line.
  std::string log_format;
  // logto / daemonize: the node's output (every line of every process) goes to this file,
  // appended. Empty: stderr as it is.
  std::string logto;
  bool daemonize = false;  // daemonize: detach from the terminal (before binding)
  // log-maxsize: with logto, the file is renamed (to log_backupname, else "PATH.UNIXTIME") once
  // it reaches this many bytes, and a new one is started. 0: never.
  std::size_t log_maxsize = 0;
  std::string log_backupname;  // log-backupname
};

}  // namespace brood::node
