// The HTTP request decoder: a Boost.Beast basic_parser whose callbacks write the uwsgi vars block
// and collect the body.
#include "brood/wire/http_request.hpp"

#include <utility>  // before Asio/Beast (docs/architecture.md: Boost 1.74 with C++20)

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <optional>

namespace brood::wire {
namespace {

namespace http = boost::beast::http;
using beast_view = boost::beast::string_view;
using error_code = boost::beast::error_code;

std::string_view view(beast_view v) { return {v.data(), v.size()}; }

constexpr std::uint64_t max_reserve = 1 << 20;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = hex_digit(in[i + 1]);
      const int lo = hex_digit(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

struct http_request_decoder::impl {
  // The Beast parser of one request; its callbacks fill the decoder's state.
  class parser final : public http::basic_parser<true> {
   public:
    explicit parser(impl& d) : d_(d) {}

   private:
    void on_request_impl(http::verb verb, beast_view method, beast_view target, int version,
                         error_code& ec) override {
      d_.on_request(verb, view(method), view(target), version, ec);
    }
    void on_response_impl(int, beast_view, int, error_code& ec) override {
      ec = http::error::bad_method;  // never called for a request parser
    }
    void on_field_impl(http::field name, beast_view name_text, beast_view value,
                       error_code& ec) override {
      d_.on_field(name, view(name_text), view(value), ec);
    }
    void on_header_impl(error_code&) override { d_.header_done = true; }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
      // A declared length is a hint from the client: reserve at most max_reserve of it.
      if (length)
        d_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, max_reserve)));
    }
    std::size_t on_body_impl(beast_view data, error_code& ec) override {
      return d_.take_body(view(data), ec);
    }
    void on_chunk_header_impl(std::uint64_t, beast_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast_view data, error_code& ec) override {
      return d_.take_body(view(data), ec);
    }
    void on_finish_impl(error_code& ec) override { d_.on_finish(chunked(), ec); }

    impl& d_;
  };

  impl(const limits& l, std::size_t max, http_endpoint e)
      : lim(l), max_body(max), ep(std::move(e)) {}

  void start() {
    vars.clear();
    body.clear();
    path.clear();
    modified_since.clear();
    pairs = 0;
    over_limit = false;
    header_done = head = expect = false;
    version = 11;
    p.emplace(*this);
    p->eager(true);
    p->header_limit(static_cast<std::uint32_t>(lim.buffer_size));
    p->body_limit(static_cast<std::uint64_t>(max_body));
  }

  void add(std::string_view key, std::string_view value, error_code& ec) {
    if (++pairs > lim.max_pairs() || vars.size() + 4 + key.size() + value.size() > 65535) {
      over_limit = true;
      ec = http::error::header_limit;
      return;
    }
    auto le16 = [this](std::size_t n) {
      vars.push_back(static_cast<std::uint8_t>(n & 0xff));
      vars.push_back(static_cast<std::uint8_t>(n >> 8));
    };
    le16(key.size());
    vars.insert(vars.end(), key.begin(), key.end());
    le16(value.size());
    vars.insert(vars.end(), value.begin(), value.end());
  }

  void on_request(http::verb verb, std::string_view method, std::string_view target, int v,
                  error_code& ec) {
    if (v != 10 && v != 11) {
      ec = http::error::bad_version;
      return;
    }
    version = v;
    head = verb == http::verb::head;
    method_name.assign(method);
    const std::size_t q = target.find('?');
    path = percent_decode(target.substr(0, q));
    add("REQUEST_METHOD", method, ec);
    add("REQUEST_URI", target, ec);
    add("PATH_INFO", path, ec);
    add("QUERY_STRING", q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
        ec);
    add("SERVER_PROTOCOL", v == 10 ? "HTTP/1.0" : "HTTP/1.1", ec);
    add("SCRIPT_NAME", "", ec);
    add("SERVER_NAME", ep.server_name, ec);
    add("SERVER_PORT", ep.server_port, ec);
    add("REMOTE_ADDR", ep.remote_addr, ec);
    add("REMOTE_PORT", ep.remote_port, ec);
    if (ep.https) {
      add("HTTPS", "on", ec);
      add("UWSGI_SCHEME", "https", ec);
    }
  }

  void on_field(http::field name, std::string_view text, std::string_view value, error_code& ec) {
    switch (name) {
      case http::field::content_type:
        add("CONTENT_TYPE", value, ec);
        return;
      case http::field::content_length:
        add("CONTENT_LENGTH", value, ec);
        return;
      case http::field::transfer_encoding:  // the body reaches the application de-chunked
        return;
      case http::field::if_modified_since:
        modified_since.assign(value);
        break;
      case http::field::expect:
        expect = boost::beast::iequals(beast_view(value.data(), value.size()), "100-continue");
        break;
      default:
        break;
    }
    key.assign("HTTP_");
    for (char c : text) {
      if (c == '-') c = '_';
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      key.push_back(c);
    }
    add(key, value, ec);
  }

  std::size_t take_body(std::string_view data, error_code& ec) {
    if (body.size() + data.size() > max_body) {
      ec = http::error::body_limit;
      return 0;
    }
    body.insert(body.end(), data.begin(), data.end());
    return data.size();
  }

  void on_finish(bool chunked, error_code& ec) {
    if (chunked) add("CONTENT_LENGTH", std::to_string(body.size()), ec);
  }

  limits lim;
  std::size_t max_body;
  http_endpoint ep;
  std::optional<parser> p;
  bytes vars;
  bytes body;
  std::string method_name;
  std::string path;
  std::string modified_since;
  std::string key;  // scratch for HTTP_* names
  std::size_t pairs = 0;
  bool over_limit = false;  // the vars block outgrew its limits
  bool header_done = false;
  bool head = false;
  bool expect = false;
  int version = 11;
};

http_request_decoder::http_request_decoder(const limits& lim, std::size_t max_body,
                                           http_endpoint ep)
    : impl_(std::make_unique<impl>(lim, max_body, std::move(ep))) {
  impl_->start();
}

http_request_decoder::~http_request_decoder() = default;

void http_request_decoder::reset() { impl_->start(); }

http_decode_result http_request_decoder::feed(bytes_view in) {
  http_decode_result r;
  if (in.empty()) return r;
  error_code ec;
  r.consumed = impl_->p->put(boost::asio::const_buffer(in.data(), in.size()), ec);
  if (ec == http::error::need_more) return r;
  if (ec) {
    r.state = http_decode_status::bad;
    if (ec == http::error::body_limit) {
      r.status = 413;
      r.why = "request body larger than the limit of " + std::to_string(impl_->max_body) + " bytes";
    } else if (ec == http::error::header_limit) {
      r.status = 431;
      r.why = impl_->over_limit ? "request header has too many fields for its vars block (max " +
                                      std::to_string(impl_->lim.max_pairs()) + " vars, 65535 bytes)"
                                : "request header larger than buffer-size (" +
                                      std::to_string(impl_->lim.buffer_size) + " bytes)";
    } else {
      r.status = 400;
      r.why = "malformed HTTP request: " + ec.message();
    }
    return r;
  }
  if (impl_->p->is_done()) r.state = http_decode_status::done;
  return r;
}

bool http_request_decoder::header_done() const noexcept { return impl_->header_done; }
bytes_view http_request_decoder::vars() const noexcept { return impl_->vars; }
bytes_view http_request_decoder::body() const noexcept { return impl_->body; }
bool http_request_decoder::keep_alive() const noexcept {
  return impl_->header_done && impl_->p->keep_alive();
}
int http_request_decoder::version() const noexcept { return impl_->version; }
bool http_request_decoder::head_method() const noexcept { return impl_->head; }
bool http_request_decoder::expects_continue() const noexcept { return impl_->expect; }
std::string_view http_request_decoder::method() const noexcept { return impl_->method_name; }
std::string_view http_request_decoder::path() const noexcept { return impl_->path; }
std::string_view http_request_decoder::if_modified_since() const noexcept {
  return impl_->modified_since;
}

}  // namespace brood::wire
