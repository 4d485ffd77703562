#pragma once
// A watch of one key prefix through etcd's v3 gateway (POST /v3/watch: a chunked response of one
// JSON object per line, "created" first, then one per revision with its "events"), used as a
// doorbell: each put under the prefix (deletes are filtered out) rings at once, and the owner
// then reads what changed with its range read (placement_mail::receive), which stays the only
// way messages are read and the resync after a watch broke or was compacted. Its own connection
// and thread; the owner's thread only calls live() and take_rung().
// - live(): the watch is created and has not broken since. While it is not, the owner reads at
//   every round, as without a watch. Each creation rings too: what was written before it is read
//   by the next range read.
// - A broken stream (connection lost, etcd's "canceled" or "compact_revision", an error) is
//   opened again after a short pause, trying the endpoints in turn.
#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "brood/os/unique_fd.hpp"
#include "etcd_client.hpp"

namespace brood::legion::etcd {

class prefix_watch {
 public:
  // `ring` is called on the watch's thread (it must be thread-safe: an eventfd write). `legion`
  // names the legion in log lines.
  prefix_watch(std::vector<url> endpoints, std::string prefix, std::string legion,
               std::function<void()> ring);
  ~prefix_watch();  // stops and joins the thread
  prefix_watch(const prefix_watch&) = delete;
  prefix_watch& operator=(const prefix_watch&) = delete;

  bool live() const { return live_.load(); }
  bool take_rung() { return rung_.exchange(false); }

 private:
  void run();
  // One stream on endpoint `u` until it breaks or the watch stops; false with `why` when it
  // broke.
  bool stream(const url& u, std::string& why);
  void ring();

  std::vector<url> eps_;
  std::string prefix_, legion_;
  std::function<void()> ring_;
  std::string request_;  // the HTTP request, made once
  os::unique_fd stop_;   // eventfd: the destructor's wake-up
  std::atomic<bool> live_{false}, rung_{false}, stopping_{false};
  std::thread thread_;
};

}  // namespace brood::legion::etcd
