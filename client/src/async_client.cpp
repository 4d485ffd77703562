// The async client API (class client): frames requests, launches async_calls on the client's
// strand and turns their replies into results with the same rules as the sync client.
#include <cstddef>
#include <memory>
#include <optional>

#include "async_call.hpp"
#include "brood/client/client.hpp"

namespace brood::client {
namespace cd = detail;

struct async_client::impl {
  std::shared_ptr<cd::async_state> state;

  // Calls `done(err)` on the strand, never inline.
  template <class Callback>
  void post_error(Callback done, call_error err) {
    asio::post(state->strand,
               [done = std::move(done), err = std::move(err)]() mutable { done(std::move(err)); });
  }
};

namespace {

// Gathers the slots of one multi call; every slot completes on the client's strand.
struct gather {
  std::vector<std::optional<message_result>> slots;
  std::size_t remaining = 0;
  async_client::multi_callback done;

  void complete(std::size_t i, message_result r) {
    slots[i].emplace(std::move(r));
    if (--remaining > 0) return;
    std::vector<message_result> out;
    out.reserve(slots.size());
    for (auto& s : slots) out.push_back(std::move(*s));
    done(std::move(out));
  }
};

}  // namespace

async_client::async_client(asio::io_context& io) : impl_(std::make_unique<impl>()) {
  impl_->state = std::make_shared<cd::async_state>(io);
}

async_client::~async_client() {
  // Pending calls end with operation_canceled once the strand runs the shutdown (posted, so no
  // callback runs inside this destructor).
  asio::post(impl_->state->strand, [st = impl_->state] { st->shutdown(); });
}

void async_client::start_send_packet(std::string address, std::uint8_t m1, std::uint8_t m2,
                                     wire::bytes payload, milliseconds timeout,
                                     packet_callback done) {
  wire::bytes request;
  if (auto err = cd::build_packet_request(request, m1, m2, payload)) {
    return impl_->post_error(std::move(done), std::move(*err));
  }
  auto finish = [done = std::move(done)](std::optional<call_error> err,
                                         const cd::reply_buffer& reply, std::string_view) {
    done(err ? packet_result(std::move(*err)) : packet_result(cd::packet_from_reply(reply)));
  };
  cd::async_call::launch(std::make_shared<cd::async_call>(
      impl_->state, std::move(address), std::move(request), timeout, std::move(finish)));
}

void async_client::start_send_message(std::string address, std::uint8_t m1, std::uint8_t m2,
                                      const wire::value& message, milliseconds timeout,
                                      message_callback done) {
  wire::bytes request;
  if (auto err = cd::build_message_request(request, m1, m2, message)) {
    return impl_->post_error(std::move(done), std::move(*err));
  }
  auto finish = [done = std::move(done), m1](std::optional<call_error> err,
                                             const cd::reply_buffer& reply, std::string_view addr) {
    done(err ? message_result(std::move(*err)) : cd::message_from_reply(addr, m1, reply));
  };
  cd::async_call::launch(std::make_shared<cd::async_call>(
      impl_->state, std::move(address), std::move(request), timeout, std::move(finish)));
}

void async_client::start_send_multi_message(std::vector<target> targets, std::uint8_t m1,
                                            std::uint8_t m2, milliseconds timeout,
                                            multi_callback done) {
  auto g = std::make_shared<gather>();
  g->slots.resize(targets.size());
  g->remaining = targets.size();
  g->done = std::move(done);
  if (targets.empty()) {
    asio::post(impl_->state->strand, [g] { g->done({}); });
    return;
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    start_send_message(std::move(targets[i].address), m1, m2, targets[i].message, timeout,
                       [g, i](message_result r) { g->complete(i, std::move(r)); });
  }
}

}  // namespace brood::client
