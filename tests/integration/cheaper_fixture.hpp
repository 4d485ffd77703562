#pragma once
// Fixture of the adaptive pool tests (cheaper, idle / cheap mode, the master FIFO) on a real
// primes_node: a private directory for the stats socket and the FIFOs, the stats JSON read over
// the unix socket, a writer end of a master FIFO, and sleep calls (m2 98) run on their own
// threads that return the pid of the worker that answered.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_fixture.hpp"
#include "temp_dir.hpp"

namespace brood::testing {

using json = nlohmann::json;

// The writing end of a master FIFO. The open waits (bounded) for the master to be reading; the
// fd stays open until close(), so the master sees no EOF (and does not re-create the FIFO) in
// between: every byte written is read from this one FIFO, in order.
class fifo_writer {
 public:
  explicit fifo_writer(const std::string& path, std::chrono::milliseconds timeout = 5s) {
    eventually(
        [&] {
          fd_ = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
          return fd_ >= 0;  // ENOENT or ENXIO (no reader yet): try again
        },
        timeout, 10ms);
  }
  ~fifo_writer() { close(); }
  fifo_writer(const fifo_writer&) = delete;
  fifo_writer& operator=(const fifo_writer&) = delete;

  bool opened() const noexcept { return fd_ >= 0; }
  // Writes every byte of `bytes` in one write (a FIFO write of up to PIPE_BUF bytes is atomic).
  bool write(const std::string& bytes) {
    return fd_ >= 0 &&
           ::write(fd_, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A call to m2 98 (sleep `ms`, then answer the worker's pid) on its own thread: the pid that
// answered, 0 when no complete answer came within `timeout`.
inline std::future<std::int64_t> sleep_call(const std::string& address, int ms,
                                            std::chrono::milliseconds timeout = 10s) {
  return std::async(std::launch::async, [address, ms, timeout]() -> std::int64_t {
    raw_socket s(address);
    if (!s.send(message_packet(98, wire::value(wire::map{{wire::value("ms"), wire::value(ms)}}))))
      return 0;
    auto reply = s.read_packet(timeout);
    if (!reply || reply->head.modifier1 != 33) return 0;
    auto v = reply_value(*reply);
    return v && v->is_integer() ? v->as_int64() : 0;
  });
}

class cheaper_fixture : public node_fixture {
 protected:
  void SetUp() override {
    // A write to a FIFO whose master has gone must fail with EPIPE, not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
  }

  // Starts a node with `extra` options plus a unix stats socket; returns the node's address.
  std::string start(std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--stats", stats_path()});
    std::string address = start_node(std::move(extra));
    EXPECT_TRUE(node().wait_for("Stats server enabled on " + stats_path())) << output();
    return address;
  }

  std::string stats_path() const { return dir_ / "stats.sock"; }
  std::string fifo_path(const std::string& name = "fifo") const { return dir_ / name; }

  // One stats document, or a discarded json when it cannot be read or parsed.
  json stats() {
    raw_socket s(stats_path());
    if (!s.connected()) return json(json::value_t::discarded);
    return json::parse(s.read_to_eof(2s).value_or(""), nullptr, false);
  }

  // Reads stats documents until `done` holds for one (returned) or `timeout` passed (the last
  // document read is returned then).
  json stats_until(const std::function<bool(const json&)>& done,
                   std::chrono::milliseconds timeout = 5s) {
    json doc;
    eventually(
        [&] {
          doc = stats();
          return doc.is_object() && doc["workers"].is_array() && done(doc);
        },
        timeout, 20ms);
    return doc;
  }

  // The stats' cheaper object's `key`, null when there is none.
  static json cheaper(const json& doc, const std::string& key) {
    const auto c = doc.find("cheaper");
    if (c == doc.end() || !c->is_object() || !c->contains(key)) return nullptr;
    return (*c)[key];
  }

  // Workers with a process (not cheaped, not between two processes).
  static int running(const json& doc) {
    int n = 0;
    for (const json& w : doc["workers"]) n += w["pid"].get<std::int64_t>() > 0 ? 1 : 0;
    return n;
  }
  static int with_status(const json& doc, const std::string& status) {
    int n = 0;
    for (const json& w : doc["workers"]) n += w["status"] == status ? 1 : 0;
    return n;
  }
  // The pids of the workers with `status` ("" for any status with a process).
  static std::set<std::int64_t> pids(const json& doc, const std::string& status = "") {
    std::set<std::int64_t> out;
    for (const json& w : doc["workers"]) {
      const auto pid = w["pid"].get<std::int64_t>();
      if (pid > 0 && (status.empty() || w["status"] == status)) out.insert(pid);
    }
    return out;
  }
  // `n` workers run, each idle and accepting: the pool is settled.
  static bool settled(const json& doc, int n) {
    if (running(doc) != n || with_status(doc, "idle") != n) return false;
    for (const json& w : doc["workers"])
      if (w["pid"].get<std::int64_t>() > 0 && w["accepting"] != 1) return false;
    return true;
  }

  std::string output() { return node().all_output(); }
  std::size_t count(const std::string& re) { return node().count_lines(std::regex(re)); }
  // count(re) once it reaches `n` (or after 2 s): for lines logged before an effect the test
  // saw by another way (a reply, a stats document), which the reader thread may not have yet.
  std::size_t count_once(const std::string& re, std::size_t n) {
    eventually([&] { return count(re) >= n; }, 2s);
    return count(re);
  }
  bool logged(const std::string& re, std::chrono::milliseconds timeout = 5s) {
    return node().wait_for_line(std::regex(re), timeout).has_value();
  }

  temp_dir dir_{"brood-cheaper-"};
};

}  // namespace brood::testing
