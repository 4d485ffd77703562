// libFuzzer target: the fork-server request decoder (fork_protocol.hpp). The first byte is the
// number of fds received (mod 20); the rest is header + body. A decoded request re-encodes to the
// same bytes.
#include <cstdlib>
#include <cstring>

#include "brood/wire/fork_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  if (size < 1 + header_size) return 0;
  const int fds = data[0] % 20;
  const bytes_view in(data + 1, size - 1);
  const header h = decode_header(in);
  const decode_result checked = check_fork_header(h);
  if (checked.is_bad()) {
    if (!checked.error || checked.why.empty()) std::abort();
    return 0;
  }
  fork_request req;
  const decode_result r = decode_fork_request(h, in.subspan(header_size), fds, limits{}, req);
  if (r.is_bad()) {
    if (!r.error || r.why.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || req.argv.empty() || req.fd_count() != fds) std::abort();
  bytes again;
  if (encode_fork_request(req, again)) std::abort();
  if (again.size() != in.size() || std::memcmp(again.data(), in.data(), in.size()) != 0)
    std::abort();
  return 0;
}
