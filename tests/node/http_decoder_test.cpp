// The HTTP request decoder (wire/http_request.hpp) as the HTTP sockets use it: the CGI vars,
// bodies (Content-Length, chunked), pipelining, bytes arriving one at a time, and bad input.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "brood/wire/http_request.hpp"
#include "brood/wire/vars.hpp"

namespace brood::wire {
namespace {

class http_decoder_test : public ::testing::Test {
 protected:
  http_decoder_test() : decoder_(lim_, 1000, endpoint()) {}

  static http_endpoint endpoint() { return {"10.0.0.7", "40312", "host.example", "8080", false}; }

  // Feeds `text` as a stream (in pieces of `step` bytes), as a connection does; returns the
  // last result and the bytes consumed in all.
  http_decode_result feed(std::string_view text, std::size_t step = 0) {
    std::size_t taken = 0;
    std::size_t have = step == 0 ? text.size() : std::min(step, text.size());
    for (;;) {
      auto r = decoder_.feed(as_bytes(text.substr(taken, have - taken)));
      taken += r.consumed;
      if (r.state != http_decode_status::need_more || have == text.size()) {
        r.consumed = taken;
        return r;
      }
      have = std::min(text.size(), have + (step == 0 ? text.size() : step));
    }
  }

  std::map<std::string, std::string> vars() {
    std::vector<var> out;
    EXPECT_TRUE(decode_vars(decoder_.vars(), lim_, out).is_done());
    std::map<std::string, std::string> m;
    for (const var& v : out) m[std::string(v.key)] = std::string(v.value);
    return m;
  }

  std::string body() { return std::string(as_chars(decoder_.body())); }

  limits lim_;
  http_request_decoder decoder_;
};

TEST_F(http_decoder_test, BuildsTheCgiVarsOfUwsgiHttpSocket) {
  const std::string req =
      "POST /a%20b/c?x=1&y=%20 HTTP/1.1\r\nHost: h:1\r\nX-Foo-Bar: baz\r\n"
      "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  const auto r = feed(req);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, req.size());
  const std::map<std::string, std::string> want{{"REQUEST_METHOD", "POST"},
                                                {"REQUEST_URI", "/a%20b/c?x=1&y=%20"},
                                                {"PATH_INFO", "/a b/c"},
                                                {"QUERY_STRING", "x=1&y=%20"},
                                                {"SERVER_PROTOCOL", "HTTP/1.1"},
                                                {"SCRIPT_NAME", ""},
                                                {"SERVER_NAME", "host.example"},
                                                {"SERVER_PORT", "8080"},
                                                {"REMOTE_ADDR", "10.0.0.7"},
                                                {"REMOTE_PORT", "40312"},
                                                {"HTTP_HOST", "h:1"},
                                                {"HTTP_X_FOO_BAR", "baz"},
                                                {"CONTENT_TYPE", "text/plain"},
                                                {"CONTENT_LENGTH", "5"}};
  EXPECT_EQ(vars(), want);
  EXPECT_EQ(body(), "hello");
  EXPECT_TRUE(decoder_.keep_alive());
  EXPECT_EQ(decoder_.version(), 11);
  EXPECT_EQ(decoder_.method(), "POST");
}

TEST_F(http_decoder_test, HttpsSocketsSetHttpsAndTheScheme) {
  http_endpoint ep = endpoint();
  ep.https = true;
  http_request_decoder d(lim_, 1000, ep);
  ASSERT_TRUE(d.feed(as_bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")).is_done());
  std::vector<var> out;
  ASSERT_TRUE(decode_vars(d.vars(), lim_, out).is_done());
  EXPECT_EQ(find_var(out, "HTTPS").value, "on");
  EXPECT_EQ(find_var(out, "UWSGI_SCHEME").value, "https");
}

TEST_F(http_decoder_test, KeepAliveFollowsTheVersionAndConnection) {
  ASSERT_TRUE(feed("GET / HTTP/1.0\r\n\r\n").is_done());
  EXPECT_FALSE(decoder_.keep_alive());
  EXPECT_EQ(decoder_.version(), 10);
  decoder_.reset();
  ASSERT_TRUE(feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").is_done());
  EXPECT_TRUE(decoder_.keep_alive());
  decoder_.reset();
  ASSERT_TRUE(feed("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").is_done());
  EXPECT_FALSE(decoder_.keep_alive());
  decoder_.reset();
  ASSERT_TRUE(feed("HEAD / HTTP/1.1\r\n\r\n").is_done());
  EXPECT_TRUE(decoder_.head_method());
}

TEST_F(http_decoder_test, PipelinedRequestsAreDecodedOneByOne) {
  const std::string one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string two = "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab";
  const std::string all = one + two + one;
  auto r = feed(all);
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, one.size());
  EXPECT_EQ(vars()["PATH_INFO"], "/1");
  decoder_.reset();
  r = feed(std::string_view(all).substr(one.size()));
  ASSERT_TRUE(r.is_done());
  EXPECT_EQ(r.consumed, two.size());
  EXPECT_EQ(body(), "ab");
}

TEST_F(http_decoder_test, BytesArrivingOneAtATimeGiveTheSameRequest) {
  const std::string req =
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4;name=v\r\ndefg\r\n0\r\nTrailer: t\r\n\r\n";
  const auto r = feed(req, 1);
  ASSERT_TRUE(r.is_done()) << r.why;
  EXPECT_EQ(r.consumed, req.size());
  EXPECT_EQ(body(), "abcdefg");
  EXPECT_EQ(vars()["CONTENT_LENGTH"], "7");  // de-chunked: the application reads a length
  EXPECT_EQ(vars().count("HTTP_TRANSFER_ENCODING"), 0u);
}

TEST_F(http_decoder_test, AnIncompleteRequestNeedsMore) {
  EXPECT_EQ(feed("GET / HTTP/1.1\r\nHost:").state, http_decode_status::need_more);
  EXPECT_FALSE(decoder_.header_done());
  decoder_.reset();
  const auto r = feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(r.state, http_decode_status::need_more);
  EXPECT_TRUE(decoder_.header_done());
}

TEST_F(http_decoder_test, MalformedRequestsAre400) {
  for (const char* bad : {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nNo colon\r\n\r\n",
                          "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    decoder_.reset();
    const auto r = feed(bad);
    EXPECT_TRUE(r.is_bad()) << bad;
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.why.find("malformed"), std::string::npos) << r.why;
  }
}

TEST_F(http_decoder_test, AHeaderOverBufferSizeIs431) {
  const auto r = feed("GET / HTTP/1.1\r\nX: " + std::string(5000, 'a') + "\r\n\r\n", 512);
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.why.find("buffer-size (4096 bytes)"), std::string::npos) << r.why;
}

TEST_F(http_decoder_test, TooManyFieldsAre431) {
  std::string req = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 130; ++i) req += "X" + std::to_string(i) + ": v\r\n";
  lim_.buffer_size = 65535;
  http_request_decoder d(lim_, 1000, endpoint());
  const auto r = d.feed(as_bytes(req + "\r\n"));
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.why.find("too many fields"), std::string::npos) << r.why;
}

TEST_F(http_decoder_test, ABodyOverTheLimitIs413) {
  auto r = feed("POST / HTTP/1.1\r\nContent-Length: 1001\r\n\r\n");
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.status, 413);
  decoder_.reset();
  r = feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + std::string(1001, 'x') +
           "\r\n0\r\n\r\n");
  ASSERT_TRUE(r.is_bad());
  EXPECT_EQ(r.status, 413);
}

TEST(percent_decode, DecodesEscapesAndKeepsInvalidOnes) {
  EXPECT_EQ(percent_decode("/a%20b%2F%zz%4"), "/a b/%zz%4");
  EXPECT_EQ(percent_decode(""), "");
}

}  // namespace
}  // namespace brood::wire
