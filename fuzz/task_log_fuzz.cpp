// libFuzzer target: the task log's segment and record decoders (spooler/src/log_record.hpp).
// The input is a segment image: a header, then records. Every decoded header re-encodes to the
// same bytes; every decoded record lies inside the input, has a valid path, and re-encodes to
// exactly the bytes it was decoded from; a bad decode always names its error.
#include <algorithm>
#include <cstdlib>

#include "log_record.hpp"

namespace {

using namespace brood::spooler::tasklog;
using brood::wire::bytes;
using brood::wire::bytes_view;

void check_bad(const log_decode& d) {
  if (d.what == log_decode::kind::bad && (!d.error || d.why.empty())) std::abort();
}

// Decodes records from `in` until the scan ends, as recovery does.
void scan(bytes_view in, std::uint64_t generation) {
  while (true) {
    log_record r;
    const log_decode d = decode_record(in, generation, r);
    check_bad(d);
    if (!d.is_record()) return;
    if (d.consumed == 0 || d.consumed > in.size()) std::abort();
    if (r.generation != generation || !valid_path(r.path)) std::abort();
    bytes again;
    append_record(again, r);
    if (!std::equal(again.begin(), again.end(), in.begin(), in.begin() + d.consumed) ||
        again.size() != d.consumed) {
      std::abort();
    }
    in = in.subspan(d.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(data, size);
  segment_header h;
  const log_decode d = decode_segment_header(in, h);
  check_bad(d);
  if (!d.is_record()) {
    scan(in, 1);  // not a segment: the bytes as records of generation 1
    return 0;
  }
  if (h.state != segment_state::unused) {
    bytes again;
    append_segment_header(again, h);
    if (!std::equal(again.begin(), again.begin() + 36, in.begin())) std::abort();
  }
  scan(in.subspan(header_size), h.generation);
  return 0;
}
