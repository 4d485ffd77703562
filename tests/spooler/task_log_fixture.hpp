#pragma once
// Shared by the task log tests: spool file bytes for a task, reading one back, waiting for a
// condition with a bound.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "brood/wire/spool_file.hpp"
#include "log_env.hpp"

namespace brood::spooler::testing_log {

// A checksummed spool file: vars {task: name}, a body of `body_size` bytes derived from name.
inline wire::bytes task_file(const std::string& name, std::size_t body_size = 64) {
  std::string body(body_size, 'x');
  for (std::size_t i = 0; i < body_size; ++i)
    body[i] = static_cast<char>('a' + (i + name.size()) % 26);
  const std::vector<wire::var> vars{{"task", name}};
  wire::bytes out;
  if (wire::append_spool_file(out, vars, wire::as_bytes(body))) ADD_FAILURE() << "encode " << name;
  return out;
}

// The content of `path` in `env`, or nullopt when missing.
inline std::optional<wire::bytes> content_of(log_env& env, const std::string& path) {
  wire::bytes b;
  if (!env.read_file(path, b).ok()) return std::nullopt;
  return b;
}

// Polls `cond` every millisecond for at most `limit`; true once it holds.
inline bool wait_for(const std::function<bool()>& cond,
                     std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace brood::spooler::testing_log
