#pragma once
// The async client's machinery: its shared state (strand, endpoint cache, idle sockets) and one
// request/reply exchange on that strand.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "brood/client/call_error.hpp"
#include "brood/os/asio.hpp"
#include "brood/wire/bytes.hpp"
#include "endpoint.hpp"
#include "reply.hpp"

namespace brood::client::detail {

using generic_socket = asio::generic::stream_protocol::socket;
using client_strand = asio::strand<asio::io_context::executor_type>;

class async_call;

// Everything of one async client. Touched only on `strand`, so an io_context run by several
// threads is safe. Outlives the client while calls are pending (they hold a shared_ptr).
struct async_state {
  explicit async_state(asio::io_context& io) : strand(asio::make_strand(io)) {}

  // Pooled idle socket that passed idle_connection_alive(), or nullopt.
  std::optional<generic_socket> take(std::string_view address);
  void put(std::string_view address, generic_socket s);
  // The client is gone: pending calls end with operation_canceled, idle sockets close.
  void shutdown();

  client_strand strand;
  endpoint_cache endpoints;
  std::unordered_map<std::string, std::vector<generic_socket>, string_hash, std::equal_to<>> idle;
  std::unordered_set<async_call*> active;
  bool closed = false;
};

// One exchange: connect (or reuse), write, read one reply, under a deadline timer.
// `done` runs exactly once, on the strand: (nullopt, complete reply) or (error, -).
class async_call : public std::enable_shared_from_this<async_call> {
 public:
  using completion =
      std::function<void(std::optional<call_error>, const reply_buffer&, std::string_view address)>;

  async_call(std::shared_ptr<async_state> st, std::string address, wire::bytes request,
             std::chrono::milliseconds timeout, completion done);

  // Posts the call to the strand. Never completes inline.
  static void launch(std::shared_ptr<async_call> call);
  // On the strand: ends the call with operation_canceled.
  void abort();

 private:
  void begin();
  void connect_fresh();
  void on_connect(const boost::system::error_code& ec);
  void write();
  void on_write(const boost::system::error_code& ec);
  void read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_timer(const boost::system::error_code& ec);
  bool retry();
  void finish(std::optional<call_error> err);

  std::shared_ptr<async_state> st_;
  std::string address_;
  wire::bytes request_;
  std::chrono::milliseconds timeout_;
  completion done_;
  endpoint ep_;
  generic_socket socket_;
  asio::steady_timer timer_;
  reply_buffer reply_;
  bool reused_ = false;
  bool retried_ = false;
  bool finished_ = false;
};

}  // namespace brood::client::detail
