#pragma once
// Builders of the call_error values every client path reports. Each message names the address
// as the caller wrote it and what happened. Implemented in call_error.cpp.
#include <chrono>
#include <string>
#include <string_view>

#include "brood/client/call_error.hpp"

namespace brood::client::detail {

using std::chrono::milliseconds;

// timeout: "timeout after 200 ms waiting for ADDR".
call_error timeout_error(std::string_view address, milliseconds timeout);
// A signal interrupted the wait and the interrupt check (client.hpp) abandoned the call.
call_error interrupted_error(std::string_view address);
// A failed connect, by errno: ECONNREFUSED / ENOENT / unreachable -> refused, others -> io.
call_error connect_error(std::string_view address, int err);
// refused: the address cannot be reached or resolved; `what` says why.
call_error unreachable_error(std::string_view address, std::string_view what);
// io: the peer closed before the first reply byte.
call_error closed_error(std::string_view address);
// io: the peer closed after part of a reply.
call_error cut_reply_error(std::string_view address);
// io: a send/recv failed with errno `err`.
call_error io_error(std::string_view address, int err);
// protocol: the reply is not a valid answer; `why` says what was wrong.
call_error protocol_error(std::string_view address, std::string_view why);
// remote: "remote error from ADDR: TYPE: MESSAGE", remote_type = TYPE.
call_error remote_error(std::string_view address, std::string type, std::string_view message);
// bad_request: the call could not be encoded or the address parsed.
call_error bad_request_error(std::string why);
// std::errc::operation_canceled: the async client was destroyed before the call ended.
call_error canceled_error(std::string_view address);

}  // namespace brood::client::detail
