#pragma once
// Shared by the task log tests: spool file bytes for a task, reading one back, waiting for a
// condition with a bound.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include "brood/wire/spool_file.hpp"
#include "log_env.hpp"
#include "log_server.hpp"

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

// Reads `n` answers of a log server from the connection `fd` (made by log_client::connect_to:
// 30 s receive timeout), in order; fewer when the connection ends or times out.
inline std::vector<os::result<std::uint64_t>> read_answers(int fd, std::size_t n) {
  std::vector<os::result<std::uint64_t>> answers;
  wire::bytes in;
  while (answers.size() < n) {
    wire::byte buf[4096];
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    in.insert(in.end(), buf, buf + r);
    for (;;) {
      os::result<std::uint64_t> seq = std::uint64_t{0};
      const std::size_t used = log_client::decode_answer(in, seq);
      if (used == 0) break;
      answers.push_back(std::move(seq));
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(used));
    }
  }
  return answers;
}

}  // namespace brood::spooler::testing_log
