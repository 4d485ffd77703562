// libFuzzer target: the spool file decoder. A decoded file re-encodes to a file that decodes to
// the same task; a checksummed file with modifier2 0 re-encodes to the very same bytes.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "brood/wire/spool_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace brood::wire;
  const bytes_view in(data, size);
  spool_file_view file;
  const decode_result r = decode_spool_file(in, file);
  if (r.is_bad()) {
    if (!r.error || r.why.empty() || !file.vars.empty()) std::abort();
    return 0;
  }
  if (!r.is_done() || r.consumed != size) std::abort();
  if (file.head.modifier1 != to_byte(modifier1::spooler)) std::abort();
  bytes again;
  if (append_spool_file(again, file.vars, file.body)) {
    // Only a vars block too full for brood's checksum var may fail to re-encode.
    if (file.checksummed) std::abort();
    return 0;
  }
  if (file.checksummed && file.head.modifier2 == 0 && again != bytes(in.begin(), in.end())) {
    std::abort();
  }
  spool_file_view second;
  if (!decode_spool_file(again, second).is_done() || !second.checksummed) std::abort();
  if (second.vars != file.vars) std::abort();
  if (!std::equal(second.body.begin(), second.body.end(), file.body.begin(), file.body.end())) {
    std::abort();
  }
  return 0;
}
