// The request log: filtering, uWSGI's default line, log-format variables.
#include "brood/node/request_log.hpp"

#include <unistd.h>

#include <ctime>
#include <string>

#include "brood/os/log.hpp"
#include "brood/os/process_memory.hpp"
#include "scoreboard.hpp"

namespace brood::node {
namespace {

std::string_view var(const request_record& r, std::string_view key) {
  std::string_view out;
  if (r.vars)
    for (const wire::var& v : *r.vars)
      if (v.key == key) out = v.value;  // the last of duplicates wins, as in the environ
  return out;
}

std::int64_t took_us(const request_record& r) {
  return r.end_us > r.start_us ? r.end_us - r.start_us : 0;
}

// `unix_us` as local time in strftime's `format`.
std::string local_time(std::int64_t unix_us, const char* format) {
  const std::time_t t = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

// "Sun Dec  6 13:01:22 2026" (asctime without its newline).
std::string ctime_of(std::int64_t unix_us) { return local_time(unix_us, "%a %b %e %H:%M:%S %Y"); }

// "06/Dec/2026:13:01:22 +0000" (the common log format's time).
std::string ltime_of(std::int64_t unix_us) { return local_time(unix_us, "%d/%b/%Y:%H:%M:%S %z"); }

struct line_context {
  const request_record& r;
  pid_t pid;
  unsigned worker_id;
  std::uint64_t worker_requests;
  std::uint64_t total_requests;
};

std::string default_line(const line_context& c) {
  const request_record& r = c.r;
  std::string uri(var(r, "REQUEST_URI"));
  if (uri.empty()) {
    uri = var(r, "PATH_INFO");
    if (!var(r, "QUERY_STRING").empty()) uri += "?" + std::string(var(r, "QUERY_STRING"));
  }
  std::string s;
  s.reserve(256);
  s += "[pid: " + std::to_string(c.pid) + "|app: " + std::to_string(r.app) +
       "|req: " + std::to_string(c.worker_requests) + "/" + std::to_string(c.total_requests) + "] ";
  s += var(r, "REMOTE_ADDR");
  s += " (";
  s += var(r, "REMOTE_USER");
  s += ") {" + std::to_string(r.vars ? r.vars->size() : 0) + " vars in " +
       std::to_string(r.vars_bytes) + " bytes} [" + ctime_of(r.start_us) + "] ";
  s += var(r, "REQUEST_METHOD");
  s += ' ';
  s += uri;
  s += " => generated " + std::to_string(r.body_bytes) + " bytes in " +
       std::to_string(took_us(r) / 1000) + " msecs (";
  s += var(r, "SERVER_PROTOCOL");
  s += " " + std::to_string(r.status) + ") " + std::to_string(r.headers) + " headers in " +
       std::to_string(r.header_bytes) + " bytes (1 switches on core " + std::to_string(r.core) +
       ")";
  return s;
}

// The value of the log-format variable `name`; false when there is no such variable.
bool variable(const line_context& c, std::string_view name, std::string& out) {
  const request_record& r = c.r;
  auto num = [&](auto v) {
    out = std::to_string(v);
    return true;
  };
  auto text = [&](std::string_view v) {
    out = std::string(v);
    return true;
  };
  if (name.substr(0, 4) == "var.") return text(var(r, name.substr(4)));
  if (name == "uri") return text(var(r, "REQUEST_URI"));
  if (name == "method") return text(var(r, "REQUEST_METHOD"));
  if (name == "user") return text(var(r, "REMOTE_USER"));
  if (name == "addr") return text(var(r, "REMOTE_ADDR"));
  if (name == "host") return text(var(r, "HTTP_HOST"));
  if (name == "proto") return text(var(r, "SERVER_PROTOCOL"));
  if (name == "referer") return text(var(r, "HTTP_REFERER"));
  if (name == "uagent") return text(var(r, "HTTP_USER_AGENT"));
  if (name == "cl") return text(var(r, "CONTENT_LENGTH"));
  if (name == "status") return num(r.status);
  if (name == "micros" || name == "tmicros") return num(took_us(r));
  if (name == "msecs" || name == "tmsecs") return num(took_us(r) / 1000);
  if (name == "secs") return num(static_cast<double>(took_us(r)) / 1e6);
  if (name == "time" || name == "epoch") return num(r.start_us / 1000000);
  if (name == "ltime") return text(ltime_of(r.start_us));
  if (name == "ctime") return text(ctime_of(r.start_us));
  if (name == "size" || name == "rsize") return num(r.body_bytes);
  if (name == "hsize") return num(r.header_bytes);
  if (name == "headers") return num(r.headers);
  if (name == "vars") return num(r.vars ? r.vars->size() : 0);
  if (name == "pktsize") return num(r.vars_bytes);
  if (name == "pid") return num(c.pid);
  if (name == "wid") return num(c.worker_id);
  if (name == "core") return num(r.core);
  if (name == "switches") return num(1);
  if (name == "modifier1" || name == "modifier2") return num(0);
  if (name == "rss" || name == "vsz" || name == "rssM" || name == "vszM") {
    const auto mem = os::read_process_memory(c.pid);
    const std::uint64_t v = !mem ? 0 : name[0] == 'r' ? mem->rss : mem->vsz;
    return num(name.back() == 'M' ? v / (1024 * 1024) : v);
  }
  return false;
}

std::string formatted_line(const std::string& format, const line_context& c) {
  std::string out;
  out.reserve(format.size() + 64);
  std::size_t i = 0;
  while (i < format.size()) {
    const std::size_t open = format.find("%(", i);
    if (open == std::string::npos) break;
    const std::size_t close = format.find(')', open + 2);
    if (close == std::string::npos) break;
    out.append(format, i, open - i);
    std::string value;
    if (variable(c, std::string_view(format).substr(open + 2, close - open - 2), value))
      out += value;
    else
      out.append(format, open, close - open + 1);  // not a variable: kept as written
    i = close + 1;
  }
  out.append(format, i, std::string::npos);
  return out;
}

}  // namespace

bool should_log(const log_config& cfg, const request_record& r) noexcept {
  if (!cfg.disable_logging) return true;
  if (cfg.log_4xx && r.status >= 400 && r.status <= 499) return true;
  if (cfg.log_5xx && r.status >= 500 && r.status <= 599) return true;
  if (cfg.log_slow.count() > 0 && took_us(r) / 1000 > cfg.log_slow.count()) return true;
  if (cfg.log_big > 0 && r.body_bytes > cfg.log_big) return true;
  if (cfg.log_zero && r.body_bytes == 0) return true;
  return false;
}

std::string format_request_line(const log_config& cfg, const request_record& r, pid_t pid,
                                unsigned worker_id, std::uint64_t worker_requests,
                                std::uint64_t total_requests) {
  const line_context c{r, pid, worker_id, worker_requests, total_requests};
  return cfg.log_format.empty() ? default_line(c) : formatted_line(cfg.log_format, c);
}

void log_request(const log_config& cfg, const request_record& r) {
  if (!should_log(cfg, r)) return;
  // The scoreboard counts a request once it is written: this one is not counted yet.
  std::uint64_t mine = 1;
  std::uint64_t total = 1;
  unsigned id = 1;
  if (scoreboard* board = current_worker_board()) {
    const scoreboard::slot* me = current_worker_slot();
    for (unsigned i = 1; i <= board->size(); ++i) {
      const std::uint64_t n = board->at(i).requests.load(std::memory_order_relaxed);
      total += n;
      if (&board->at(i) == me) {
        mine += n;
        id = i;
      }
    }
  } else {
    static std::atomic<std::uint64_t> alone{0};  // no master: this process is the node
    mine = total = alone.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  os::log_raw(format_request_line(cfg, r, ::getpid(), id, mine, total));
}

}  // namespace brood::node
