// libFuzzer target: the HTTP request decoder of the HTTP sockets. The input is fed as a stream in
// pieces (the first byte picks the piece size), as a connection feeds it, through pipelined
// requests: every result is need-more, bad with a 4xx status and a reason, or done with a vars
// block that decodes.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "brood/wire/http_request.hpp"
#include "brood/wire/vars.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  if (size == 0) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const bytes_view in(data + 1, size - 1);
  limits lim;
  lim.buffer_size = 1024;
  lim.max_vars = 16;
  http_request_decoder d(lim, 4096, {"127.0.0.1", "1", "h", "80", (data[0] & 0x80) != 0});
  std::size_t begin = 0;
  std::size_t end = std::min(in.size(), step);
  std::vector<var> vars;
  for (;;) {
    const auto r = d.feed(in.subspan(begin, end - begin));
    if (r.consumed > end - begin) std::abort();
    begin += r.consumed;
    if (r.is_bad()) {
      if ((r.status != 400 && r.status != 413 && r.status != 431) || r.why.empty()) std::abort();
      return 0;
    }
    if (r.is_done()) {
      if (!decode_vars(d.vars(), lim, vars).is_done()) std::abort();
      if (d.body().size() > 4096) std::abort();
      d.reset();
      continue;
    }
    if (end == in.size()) return 0;
    end = std::min(in.size(), end + step);
  }
}
