#include "log_record.hpp"

#include <boost/crc.hpp>
#include <cstring>

namespace brood::spooler::tasklog {
namespace {

constexpr std::uint64_t segment_magic = 0x31474f4c54445242ULL;  // "BRDTLOG1"
constexpr std::uint32_t record_magic = 0x52544442U;             // "BDTR"
constexpr std::size_t header_fields = 8 + 4 + 4 + 8 + 8;

template <class T>
void put(wire::bytes& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<wire::byte>(v >> (8 * i)));
}

template <class T>
T get(const wire::byte* p) noexcept {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
  return v;
}

bool all_zero(wire::bytes_view b) noexcept {
  for (const wire::byte c : b) {
    if (c != 0) return false;
  }
  return true;
}

log_decode bad(log_errc e, std::string why) {
  return {log_decode::kind::bad, 0, make_error_code(e), std::move(why)};
}

class log_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "brood.tasklog"; }
  std::string message(int c) const override {
    switch (static_cast<log_errc>(c)) {
      case log_errc::bad_magic:
        return "not a task log record";
      case log_errc::truncated:
        return "task log record cut short";
      case log_errc::bad_length:
        return "task log record length too small";
      case log_errc::bad_checksum:
        return "task log checksum mismatch";
      case log_errc::stale_generation:
        return "task log record of another generation";
      case log_errc::bad_type:
        return "unknown task log record type";
      case log_errc::bad_path:
        return "bad path in a task log record";
      case log_errc::bad_version:
        return "unknown task log version";
      case log_errc::bad_state:
        return "unknown task log segment state";
    }
    return "unknown task log error";
  }
};

}  // namespace

const std::error_category& log_category() noexcept {
  static const log_category_impl c;
  return c;
}
std::error_code make_error_code(log_errc e) noexcept {
  return {static_cast<int>(e), log_category()};
}

std::uint32_t crc32c(wire::bytes_view b) noexcept {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(b.data(), b.size());
  return crc.checksum();
}

void append_segment_header(wire::bytes& out, const segment_header& h) {
  const std::size_t start = out.size();
  put<std::uint64_t>(out, segment_magic);
  put<std::uint32_t>(out, log_version);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(h.state));
  put<std::uint64_t>(out, h.generation);
  put<std::uint64_t>(out, h.first_seq);
  put<std::uint32_t>(out, crc32c(wire::bytes_view(out).subspan(start, header_fields)));
  out.resize(start + header_size, 0);
}

log_decode decode_segment_header(wire::bytes_view in, segment_header& out) {
  out = {};
  if (in.size() < header_size) {
    return bad(log_errc::truncated, "segment header: " + std::to_string(in.size()) + " of " +
                                        std::to_string(header_size) + " bytes");
  }
  if (all_zero(in.first(header_fields + 4))) return {log_decode::kind::record, header_size, {}, {}};
  if (get<std::uint64_t>(in.data()) != segment_magic) {
    return bad(log_errc::bad_magic, "segment header: bad magic at offset 0");
  }
  if (get<std::uint32_t>(in.data() + header_fields) != crc32c(in.first(header_fields))) {
    return bad(log_errc::bad_checksum, "segment header: checksum mismatch at offset 32");
  }
  if (const auto v = get<std::uint32_t>(in.data() + 8); v != log_version) {
    return bad(log_errc::bad_version, "segment header: version " + std::to_string(v));
  }
  const auto state = get<std::uint32_t>(in.data() + 12);
  if (state != 1 && state != 2) {
    return bad(log_errc::bad_state, "segment header: state " + std::to_string(state));
  }
  out.state = static_cast<segment_state>(state);
  out.generation = get<std::uint64_t>(in.data() + 16);
  out.first_seq = get<std::uint64_t>(in.data() + 24);
  return {log_decode::kind::record, header_size, {}, {}};
}

bool valid_path(std::string_view path) noexcept {
  if (path.empty() || path.size() > max_path || path.front() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    start = slash + 1;
  }
  return true;
}

std::size_t record_size(std::string_view path, std::size_t data_size) noexcept {
  return record_overhead + path.size() + data_size;
}

void append_record(wire::bytes& out, const log_record& r) {
  const std::size_t start = out.size();
  put<std::uint32_t>(out, record_magic);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(record_size(r.path, r.data.size()) - 12));
  put<std::uint32_t>(out, 0);  // crc, filled below
  put<std::uint64_t>(out, r.generation);
  put<std::uint8_t>(out, static_cast<std::uint8_t>(r.type));
  put<std::uint64_t>(out, r.seq);
  put<std::uint16_t>(out, static_cast<std::uint16_t>(r.path.size()));
  out.insert(out.end(), r.path.begin(), r.path.end());
  out.insert(out.end(), r.data.begin(), r.data.end());
  const std::uint32_t crc = crc32c(wire::bytes_view(out).subspan(start + 12));
  for (std::size_t i = 0; i < 4; ++i) out[start + 8 + i] = static_cast<wire::byte>(crc >> (8 * i));
}

log_decode decode_record(wire::bytes_view in, std::uint64_t generation, log_record& out) {
  out = {};
  if (in.size() < 4 || all_zero(in.first(4))) return {};  // the end of the written part
  if (get<std::uint32_t>(in.data()) != record_magic) {
    return bad(log_errc::bad_magic, "record: bad magic at offset 0");
  }
  if (in.size() < record_overhead) {
    return bad(log_errc::truncated, "record: " + std::to_string(in.size()) + " bytes left");
  }
  const std::size_t length = get<std::uint32_t>(in.data() + 4);
  if (length < record_overhead - 12) {
    return bad(log_errc::bad_length, "record: length " + std::to_string(length) + " at offset 4");
  }
  if (length > in.size() - 12) {
    return bad(log_errc::truncated, "record: length " + std::to_string(length) + " runs past the " +
                                        std::to_string(in.size()) + " bytes left");
  }
  const wire::bytes_view body = in.subspan(12, length);
  if (get<std::uint32_t>(in.data() + 8) != crc32c(body)) {
    return bad(log_errc::bad_checksum, "record: checksum mismatch at offset 8");
  }
  out.generation = get<std::uint64_t>(body.data());
  if (out.generation != generation) {
    return bad(log_errc::stale_generation, "record: generation " + std::to_string(out.generation) +
                                               " in a segment of generation " +
                                               std::to_string(generation));
  }
  const std::uint8_t type = body[8];
  if (type != 1 && type != 2)
    return bad(log_errc::bad_type, "record: type " + std::to_string(type));
  out.type = static_cast<record_type>(type);
  out.seq = get<std::uint64_t>(body.data() + 9);
  const std::size_t path_len = get<std::uint16_t>(body.data() + 17);
  if (path_len > length - (record_overhead - 12)) {
    return bad(log_errc::bad_path,
               "record: path length " + std::to_string(path_len) + " runs past the record");
  }
  out.path = wire::as_chars(body.subspan(19, path_len));
  if (!valid_path(out.path)) return bad(log_errc::bad_path, "record: path at offset 31");
  out.data = body.subspan(19 + path_len);
  return {log_decode::kind::record, 12 + length, {}, {}};
}

}  // namespace brood::spooler::tasklog
