#pragma once
// One client connection of the router: reads the uwsgi header and vars, picks a node by key,
// connects to it (retrying on another node while nothing reached the client), then streams both
// ways with backpressure (a side is read only while the other side's pending bytes are below a
// bound). Private to brood::router; lives as long as its pending operations (shared_ptr).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core.hpp"

namespace brood::router {

class session : public std::enable_shared_from_this<session> {
 public:
  session(core& c, stream::socket client);
  ~session();
  void start();

 private:
  static constexpr std::size_t chunk = 16 * 1024;         // one read from either side
  static constexpr std::size_t replay_limit = 64 * 1024;  // request bytes kept for a retry

  void read_head();
  void on_head();
  void connect_next();
  void on_connected(std::uint64_t gen, const boost::system::error_code& ec);
  void upstream_failed(std::uint64_t gen, const char* what, const boost::system::error_code& ec);
  void read_client();
  void write_upstream();
  void read_upstream();
  void finish();
  void arm_timer();

  core& c_;
  stream::socket client_;
  stream::socket upstream_;
  asio::steady_timer timer_;
  std::vector<std::uint8_t> head_;  // header + vars (+ body start) as read
  std::vector<std::string> keys_;   // lookup order
  node_ref node_;
  std::string node_address_;
  int upstream_family_ = 0;
  std::uint64_t gen_ = 0;  // the upstream attempt; handlers of an older one do nothing
  std::uint32_t tries_ = 0;
  bool connected_ = false, sent_to_client_ = false;
  bool appending_ = true;   // client bytes are appended to upq_ (kept for a retry), up to
                            // replay_limit
  bool replayable_ = true;  // upq_ still holds every request byte from the first
  bool client_reading_ = false, client_eof_ = false, upstream_writing_ = false, done_ = false;
  // Bytes for the upstream; while replayable, all of them. Never grown while a write of it is in
  // flight (the client is not read then), so the write's buffer stays valid.
  std::vector<std::uint8_t> upq_;
  std::size_t upq_off_ = 0;  // written to the current upstream
  std::array<std::uint8_t, chunk> client_buf_;
  bool can_read_client() const noexcept;
  std::unique_ptr<std::uint8_t[]> down_buf_;  // made at the first read from a node
  std::chrono::steady_clock::time_point last_activity_;
  std::uint64_t rx_ = 0, tx_ = 0;
};

}  // namespace brood::router
