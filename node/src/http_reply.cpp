// Framing a handler's HTTP response for a kept-alive connection.
#include "http_reply.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

namespace brood::node::detail {
namespace {

constexpr std::string_view crlf = "\r\n";

// ASCII case folding (header names are ASCII; no locale lookups per character).
char fold(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(a[i]) != fold(b[i])) return false;
  return true;
}

bool contains_close(std::string_view value) noexcept {
  for (std::size_t i = 0; i + 5 <= value.size(); ++i)
    if (iequals(value.substr(i, 5), "close")) return true;
  return false;
}

// What the handler's header says about framing.
struct header_facts {
  int status = 0;
  bool has_length = false;
  bool has_encoding = false;
  bool wants_close = false;
};

header_facts read_header(std::string_view head) {
  header_facts f;
  const std::size_t sp = head.find(' ');
  if (sp != std::string_view::npos && sp + 4 <= head.size()) {
    for (std::size_t i = sp + 1; i < sp + 4 && std::isdigit(static_cast<unsigned char>(head[i]));
         ++i)
      f.status = f.status * 10 + (head[i] - '0');
  }
  std::size_t pos = head.find(crlf);
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = std::min(head.find(crlf, start), head.size());
    const std::string_view line = head.substr(start, end - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = line.substr(0, colon);
      if (iequals(name, "Content-Length")) f.has_length = true;
      if (iequals(name, "Transfer-Encoding")) f.has_encoding = true;
      if (iequals(name, "Connection") && contains_close(line.substr(colon + 1)))
        f.wants_close = true;
    }
    pos = end == head.size() ? std::string_view::npos : end;
  }
  return f;
}

void append(std::string& out, std::string_view s) { out.append(s); }

}  // namespace

void finish_http_reply(reply& r, const http_exchange& ex, const http_config& cfg) {
  const std::string_view all(reinterpret_cast<const char*>(r.data.data()), r.data.size());
  const std::size_t blank = all.find("\r\n\r\n");
  if (blank == std::string_view::npos || all.substr(0, 5) != "HTTP/") {
    r.keep_alive = false;
    return;
  }
  const header_facts f = read_header(all.substr(0, blank));
  const std::size_t body_at = blank + 4;
  const std::size_t body_size = r.data.size() - body_at;
  const bool no_body = (f.status >= 100 && f.status < 200) || f.status == 204 || f.status == 304;
  r.keep_alive = cfg.keepalive && ex.keep_alive && !f.wants_close;
  std::string extra;
  bool chunk = false;
  if (!f.has_length && !f.has_encoding && !no_body) {
    chunk = cfg.auto_chunked && ex.version == 11 && !ex.head;
    if (chunk) {
      append(extra, "Transfer-Encoding: chunked\r\n");
    } else {
      append(extra, "Content-Length: ");
      append(extra, std::to_string(body_size));
      append(extra, crlf);
    }
  }
  if (r.keep_alive && ex.version == 10) append(extra, "Connection: keep-alive\r\n");
  if (!r.keep_alive && ex.version == 11 && !f.wants_close) append(extra, "Connection: close\r\n");
  for (const std::string& h : cfg.add_headers) {
    append(extra, h);
    append(extra, crlf);
  }
  if (ex.head) r.data.resize(body_at);
  if (chunk && body_size > 0) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", body_size);
    r.data.insert(r.data.begin() + static_cast<std::ptrdiff_t>(body_at), size_line, size_line + n);
    const std::string_view tail = "\r\n0\r\n\r\n";
    r.data.insert(r.data.end(), tail.begin(), tail.end());
  } else if (chunk) {
    const std::string_view last = "0\r\n\r\n";
    r.data.insert(r.data.end(), last.begin(), last.end());
  }
  if (!extra.empty())
    r.data.insert(r.data.begin() + static_cast<std::ptrdiff_t>(blank + 2), extra.begin(),
                  extra.end());
}

reply http_error_reply(int status, bool keep) {
  const std::string_view reason = http_reason(status);
  std::string text =
      "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reason.size()) +
      (keep ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  text.append(reason);
  reply r;
  r.data.assign(text.begin(), text.end());
  r.keep_alive = keep;
  return r;
}

std::string_view http_reason(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

}  // namespace brood::node::detail
