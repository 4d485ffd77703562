// Framing a handler's HTTP response for an HTTP socket (http_reply.hpp) and the static files of
// static-map (http_static.hpp).
#include "http_reply.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "http_static.hpp"
#include "temp_dir.hpp"

namespace brood::node::detail {
namespace {

reply raw(std::string_view text) {
  reply r;
  r.data.assign(text.begin(), text.end());
  return r;
}

std::string text(const reply& r) { return std::string(r.data.begin(), r.data.end()); }

class http_reply_test : public ::testing::Test {
 protected:
  std::string finish(std::string_view in, http_exchange ex, bool* keep = nullptr) {
    reply r = raw(in);
    finish_http_reply(r, ex, cfg_);
    if (keep) *keep = r.keep_alive;
    return text(r);
  }
  http_config cfg_;
};

TEST_F(http_reply_test, AddsContentLengthWhenTheAppSetNone) {
  bool keep = false;
  EXPECT_EQ(
      finish("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", {11, true, false}, &keep),
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_TRUE(keep);
}

TEST_F(http_reply_test, KeepsTheAppsFramingUntouched) {
  const std::string in = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi";
  EXPECT_EQ(finish(in, {11, true, false}), in);
}

TEST_F(http_reply_test, ClosingRepliesSayConnectionClose) {
  bool keep = true;
  EXPECT_EQ(finish("HTTP/1.1 200 OK\r\n\r\nx", {11, false, false}, &keep),
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
  EXPECT_FALSE(keep);
  EXPECT_EQ(finish("HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\nx", {11, true, false}, &keep),
            "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1\r\n\r\nx");
  EXPECT_FALSE(keep);
}

TEST_F(http_reply_test, Http10ClientsKeptAliveAreTold) {
  bool keep = false;
  EXPECT_EQ(finish("HTTP/1.0 200 OK\r\n\r\n", {10, true, false}, &keep),
            "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(keep);
}

TEST_F(http_reply_test, HeadDropsTheBodyAndKeepsItsLength) {
  EXPECT_EQ(finish("HTTP/1.1 200 OK\r\n\r\nhello", {11, true, true}),
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST_F(http_reply_test, NoBodyStatusesGetNoLength) {
  EXPECT_EQ(finish("HTTP/1.1 304 Not Modified\r\n\r\n", {11, true, false}),
            "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST_F(http_reply_test, AutoChunkedAndAddHeader) {
  cfg_.auto_chunked = true;
  cfg_.add_headers = {"X-A: 1", "X-B: 2"};
  EXPECT_EQ(finish("HTTP/1.1 200 OK\r\n\r\nhello world", {11, true, false}),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
            "b\r\nhello world\r\n0\r\n\r\n");
  EXPECT_EQ(finish("HTTP/1.0 200 OK\r\n\r\nhi", {10, false, false}),
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nX-B: 2\r\n\r\nhi");
}

TEST_F(http_reply_test, KeepAliveOffClosesEveryReply) {
  cfg_.keepalive = false;
  bool keep = true;
  finish("HTTP/1.1 200 OK\r\n\r\n", {11, true, false}, &keep);
  EXPECT_FALSE(keep);
}

TEST_F(http_reply_test, ANonHttpReplyIsLeftAndCloses) {
  bool keep = true;
  EXPECT_EQ(finish("garbage", {11, true, false}, &keep), "garbage");
  EXPECT_FALSE(keep);
}

TEST(http_error_reply, NamesTheStatusAndCloses) {
  const reply r = http_error_reply(413);
  EXPECT_EQ(text(r),
            "HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
            "Connection: close\r\n\r\nPayload Too Large");
  EXPECT_FALSE(r.keep_alive);
}

TEST(http_static, ServesMappedFilesAndRefusesEscapes) {
  testing::temp_dir dir("brood_static_");
  std::ofstream(dir.path() + "/a.css") << "x{}";
  std::ofstream(dir.path() + "/../brood_static_secret.txt") << "s";
  http_config cfg;
  cfg.static_maps.push_back({"/s", dir.path(), false});
  auto r = serve_static(cfg, "GET", "/s/a.css", "");
  ASSERT_TRUE(r);
  const std::string t = text(*r);
  EXPECT_EQ(t.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(t.find("Content-Type: text/css\r\n"), std::string::npos) << t;
  EXPECT_NE(t.find("Last-Modified: "), std::string::npos) << t;
  EXPECT_EQ(t.substr(t.size() - 3), "x{}");
  EXPECT_FALSE(serve_static(cfg, "GET", "/s/none.css", ""));  // the application answers
  EXPECT_FALSE(serve_static(cfg, "POST", "/s/a.css", ""));    // only GET and HEAD
  EXPECT_FALSE(serve_static(cfg, "GET", "/sa.css", ""));      // not under the mountpoint
  r = serve_static(cfg, "GET", "/s/../brood_static_secret.txt", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(text(*r).substr(0, 22), "HTTP/1.1 403 Forbidden");
  r = serve_static(cfg, "GET", "/s/a.css", "Thu, 01 Jan 2099 00:00:00 GMT");
  ASSERT_TRUE(r);
  EXPECT_EQ(text(*r).substr(0, 25), "HTTP/1.1 304 Not Modified");
  std::remove((dir.path() + "/../brood_static_secret.txt").c_str());
}

TEST(http_static, MimeTypesByExtension) {
  EXPECT_EQ(mime_type("/x/app.js"), "application/javascript");
  EXPECT_EQ(mime_type("/x.d/file"), "application/octet-stream");
  EXPECT_EQ(mime_type("a.png"), "image/png");
}

}  // namespace
}  // namespace brood::node::detail
