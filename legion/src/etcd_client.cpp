#include "etcd_client.hpp"

#include <algorithm>

#include "brood/os/asio.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace brood::legion::etcd {
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

std::string parse_one(const std::string& text, url& out) {
  const std::string scheme = "http://";
  const std::string where = "legion-etcd: '" + text + "': ";
  if (text.rfind("https://", 0) == 0) return where + "only http:// is supported (no TLS)";
  if (text.rfind(scheme, 0) != 0) return where + "expected http://HOST:PORT";
  std::string rest = text.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::size_t colon = std::string::npos;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string::npos) return where + "unterminated IPv6 address";
    out.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') colon = close + 1;
  } else {
    colon = rest.rfind(':');
    out.host = rest.substr(0, colon == std::string::npos ? rest.size() : colon);
  }
  if (out.host.empty()) return where + "no host";
  if (colon == std::string::npos) return where + "no port";
  out.port = rest.substr(colon + 1);
  if (out.port.empty() || out.port.size() > 5 ||
      out.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(out.port) == 0 ||
      std::stoi(out.port) > 65535)
    return where + "bad port '" + out.port + "'";
  out.text = text;
  return {};
}

}  // namespace

std::string parse_endpoints(const std::string& text, std::vector<url>& out) {
  out.clear();
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t comma = std::min(text.find(',', i), text.size());
    const std::string one = trim(text.substr(i, comma - i));
    if (!one.empty()) {
      url u;
      if (std::string e = parse_one(one, u); !e.empty()) return e;
      out.push_back(std::move(u));
    }
    i = comma + 1;
  }
  if (out.empty()) return "legion-etcd: no endpoint in '" + text + "'";
  return {};
}

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 3; ++k)
      v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? b64[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    std::uint32_t v = 0;
    std::size_t pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && (k == 3 || (k == 2 && text[i + 3] == '='))) {
        ++pad;
        v <<= 6;
        continue;
      }
      const int d = b64_value(c);
      if (d < 0 || pad > 0) return false;
      v = (v << 6) | static_cast<std::uint32_t>(d);
    }
    for (std::size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((v >> (16 - 8 * k)) & 0xff);
  }
  return true;
}

struct client::impl {
  std::vector<url> eps;
  std::size_t cur = 0;
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buf;
  bool connected = false;
  std::atomic<bool> interrupted{false};
  steady::time_point limit = steady::time_point::max();

  // Runs the operations just started. An interrupt() whose cancel ran before they started (in
  // an earlier run) still ends them: the flag is set before that cancel is posted.
  // The flag is also checked between short slices: a cancel that lands between two steps of a
  // composed operation (nothing pending at that instant) would otherwise be lost.
  void run() {
    ioc.restart();
    if (interrupted) stream.cancel();
    for (;;) {
      ioc.run_for(std::chrono::milliseconds(20));
      if (ioc.stopped()) break;  // out of work: the operations ended
      if (interrupted) stream.cancel();
    }
  }
  void close() {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    buf.clear();
    connected = false;
  }
  beast::error_code connect(steady::time_point deadline) {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto found = resolver.resolve(eps[cur].host, eps[cur].port, ec);
    if (ec) return ec;
    stream.expires_at(deadline);
    stream.async_connect(found, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (!ec) connected = true;
    return ec;
  }
  beast::error_code exchange(const http::request<http::string_body>& req,
                             http::response<http::string_body>& res, steady::time_point deadline) {
    beast::error_code ec;
    stream.expires_at(deadline);
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) {
      ec = e;
      if (!e)
        http::async_read(stream, buf, res, [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    run();
    return ec;
  }
};

client::client(std::vector<url> endpoints) : impl_(std::make_unique<impl>()) {
  impl_->eps = std::move(endpoints);
}
client::~client() = default;

const std::string& client::current() const { return impl_->eps[impl_->cur].text; }

void client::interrupt() {
  impl_->interrupted = true;
  asio::post(impl_->ioc, [i = impl_.get()] {
    if (i->interrupted) i->stream.cancel();
  });
}

void client::resume() { impl_->interrupted = false; }

void client::limit_until(steady::time_point t) { impl_->limit = t; }

namespace {

reply from_answer(const std::string& where, const http::response<http::string_body>& res) {
  reply r;
  nlohmann::json j = nlohmann::json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    r.code = -1;
    r.error = where + ": HTTP " + std::to_string(res.result_int()) +
              " without JSON: " + res.body().substr(0, 80);
    return r;
  }
  if (j.contains("result") && j["result"].is_object()) j = j["result"];
  if (j.contains("error")) {
    const nlohmann::json& e = j["error"].is_object() ? j["error"] : j;
    r.code = e.value("code", -1);
    r.error = where + ": " + e.value("message", std::string("error"));
    return r;
  }
  if (res.result() != http::status::ok || !j.contains("header") || !j["header"].is_object()) {
    r.code = -1;
    r.error = where + ": HTTP " + std::to_string(res.result_int()) + " without a header";
    return r;
  }
  r.ok = true;
  r.body = std::move(j);
  return r;
}

}  // namespace

reply client::post(std::string_view path, const nlohmann::json& body, milliseconds timeout) {
  impl& m = *impl_;
  const auto now = steady::now();
  const auto deadline = std::min(now + timeout, m.limit);
  reply failed;
  failed.transport = true;
  if (deadline <= now) {
    failed.error = m.eps[m.cur].text + ": " + std::string(path) + ": not called: due work first";
    return failed;
  }
  const std::size_t tries = m.eps.size() + 1;
  for (std::size_t attempt = 0; attempt < tries && steady::now() < deadline; ++attempt) {
    if (m.interrupted) {
      failed.error = "stopped";
      return failed;
    }
    const std::string& where = m.eps[m.cur].text;
    const bool reused = m.connected;
    if (!m.connected) {
      if (const beast::error_code ec = m.connect(deadline)) {
        failed.error = where + ": connect: " + ec.message();
        m.close();
        m.cur = (m.cur + 1) % m.eps.size();
        continue;
      }
    }
    http::request<http::string_body> req{http::verb::post, std::string(path), 11};
    req.set(http::field::host, m.eps[m.cur].host + ":" + m.eps[m.cur].port);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body.dump();
    req.prepare_payload();
    http::response<http::string_body> res;
    if (const beast::error_code ec = m.exchange(req, res, deadline)) {
      failed.error = where + ": " + std::string(path) + ": " + ec.message();
      m.close();
      if (!reused) m.cur = (m.cur + 1) % m.eps.size();
      continue;
    }
    if (!res.keep_alive()) m.close();
    return from_answer(where, res);
  }
  if (failed.error.empty()) failed.error = m.eps[m.cur].text + ": no answer in time";
  return failed;
}

}  // namespace brood::legion::etcd
