// A worker serving an HTTP socket in-process (connection_http.cpp): keep-alive and pipelining,
// bodies reaching the handler, bad input refused while the worker goes on, http-timeout.
#include <string>

#include "brood/wire/vars.hpp"
#include "serve_fixture.hpp"

namespace brood::test {
namespace {

class worker_http_test : public serve_fixture {
 protected:
  worker_http_test() {
    cfg_.http.timeout = 300ms;
    cfg_.http.keepalive_timeout = 5s;
    // modifier1 0: "PATH_INFO:body" as a raw HTTP reply without Content-Length, as WSGI writes it
    router_.on_packet(
        0,
        [](const node::request& rq) -> std::optional<node::reply> {
          std::vector<wire::var> vars;
          if (!wire::decode_vars(rq.payload, {}, vars).is_done()) return std::nullopt;
          const std::string text = "HTTP/1.1 200 OK\r\n\r\n" +
                                   std::string(wire::find_var(vars, "PATH_INFO").value) + ":" +
                                   std::string(wire::as_chars(rq.body));
          node::reply r;
          r.data.assign(text.begin(), text.end());
          r.keep_alive = false;
          return r;
        },
        node::body_policy::content_length);
  }

  static std::string answer(std::string_view body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
  }

  static std::string read(raw_socket& s, std::size_t n) {
    auto got = s.read_exact(n);
    return got ? std::string(got->begin(), got->end()) : "<timeout>";
  }
};

TEST_F(worker_http_test, PipelinedRequestsOnAKeptAliveConnection) {
  raw_socket s(start_http_tcp());
  ASSERT_TRUE(
      s.send(wire::as_bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                            "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                            "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "2\r\nhi\r\n0\r\n\r\n")));
  const std::string want = answer("/a:") + answer("/b:xyz") + answer("/c:hi");
  EXPECT_EQ(read(s, want.size()), want);
  ASSERT_TRUE(s.send(wire::as_bytes("GET /d HTTP/1.1\r\n\r\n")));  // still open
  EXPECT_EQ(read(s, answer("/d:").size()), answer("/d:"));
}

TEST_F(worker_http_test, ABadRequestIsRefusedAndTheWorkerGoesOn) {
  const std::string address = start_http_tcp();
  raw_socket bad(address);
  ASSERT_TRUE(bad.send(wire::as_bytes("NOT HTTP\r\n\r\n")));
  const auto text = bad.read_to_eof();
  ASSERT_TRUE(text);
  EXPECT_EQ(text->substr(0, 24), "HTTP/1.1 400 Bad Request");
  raw_socket good(address);
  ASSERT_TRUE(good.send(wire::as_bytes("GET /ok HTTP/1.0\r\n\r\n")));
  EXPECT_EQ(good.read_to_eof().value_or(""),
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/ok:");  // 1.0: closed after it
}

TEST_F(worker_http_test, AnIncompleteRequestIsCutAfterHttpTimeout) {
  raw_socket s(start_http_tcp());
  ASSERT_TRUE(s.send(wire::as_bytes("GET /slow HTTP/1.1\r\nHo")));
  const auto start = steady::now();
  EXPECT_EQ(s.read_to_eof(3s).value_or("<timeout>"), "");
  EXPECT_LT(steady::now() - start, 2s);
  EXPECT_TRUE(eventually([&] { return worker_->connection_count() == 0; }));
}

}  // namespace
}  // namespace brood::test
