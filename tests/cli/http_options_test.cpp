// The HTTP options of `brood` (docs/config.md "HTTP"): defaults, the command line, ini files with
// uWSGI's value forms, and the errors. In-process, no network.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using http_options_test = options_fixture;
using std::chrono::seconds;

TEST_F(http_options_test, Defaults) {
  const node::http_config h = parse({}).http;
  EXPECT_TRUE(h.sockets.empty());
  EXPECT_TRUE(h.keepalive);
  EXPECT_EQ(h.timeout, seconds(60));
  EXPECT_EQ(h.keepalive_timeout, seconds(60));
  EXPECT_FALSE(h.auto_chunked);
  EXPECT_TRUE(h.add_headers.empty());
  EXPECT_TRUE(h.static_maps.empty());
}

TEST_F(http_options_test, EverySocketOptionAddsAnHttpSocket) {
  const node::node_config c = parse({"--http-socket", ":8080", "--http11-socket", "127.0.0.1:81",
                                     "--http", "/tmp/h.sock", "--http-socket", ":8081"});
  EXPECT_EQ(c.http.sockets,
            (std::vector<std::string>{":8080", ":8081", "127.0.0.1:81", "/tmp/h.sock"}));
  EXPECT_TRUE(c.sockets.empty());
}

TEST_F(http_options_test, AnIniFileAsRealDeploymentsWriteIt) {
  const std::string ini =
      write("web.ini",
            "[uwsgi]\nhttp-socket = :8080\nhttp-timeout = 30\n"
            "http-keepalive = 1\npost-buffering = 8192\nhttp-auto-chunked = true\n"
            "add-header = X-Frame-Options: DENY\nadd-header = X-A: b\n"
            "static-map = /static=/srv/app/static/\n"
            "static-map2 = /media=/srv/media\n");
  const node::http_config h = parse({"--ini", ini}).http;
  EXPECT_EQ(h.sockets, (std::vector<std::string>{":8080"}));
  EXPECT_EQ(h.timeout, seconds(30));
  EXPECT_EQ(h.keepalive_timeout, seconds(30));
  EXPECT_TRUE(h.keepalive);
  EXPECT_EQ(h.post_buffering, 8192u);
  EXPECT_TRUE(h.auto_chunked);
  EXPECT_EQ(h.add_headers, (std::vector<std::string>{"X-Frame-Options: DENY", "X-A: b"}));
  ASSERT_EQ(h.static_maps.size(), 2u);
  EXPECT_EQ(h.static_maps[0].mountpoint, "/static");
  EXPECT_EQ(h.static_maps[0].dir, "/srv/app/static");
  EXPECT_FALSE(h.static_maps[0].keep_mountpoint);
  EXPECT_EQ(h.static_maps[1].mountpoint, "/media");
  EXPECT_TRUE(h.static_maps[1].keep_mountpoint);
}

TEST_F(http_options_test, HttpsTakesUwsgisForm) {
  const node::node_config c = parse({"--https", ":8443,/etc/a.crt,/etc/a.key,HIGH,/etc/ca.crt"});
  ASSERT_EQ(c.http.https.size(), 1u);
  EXPECT_EQ(c.http.https[0].address, ":8443");
  EXPECT_EQ(c.http.https[0].cert, "/etc/a.crt");
  EXPECT_EQ(c.http.https[0].key, "/etc/a.key");
}

TEST_F(http_options_test, HttpKeepaliveForms) {
  EXPECT_FALSE(parse({"--http-keepalive", "0"}).http.keepalive);
  EXPECT_FALSE(parse({"--http-keepalive", "false"}).http.keepalive);
  EXPECT_TRUE(parse({"--http-keepalive"}).http.keepalive);
  const node::http_config h = parse({"--http-keepalive", "15"}).http;
  EXPECT_TRUE(h.keepalive);
  EXPECT_EQ(h.keepalive_timeout, seconds(15));
}

TEST_F(http_options_test, ErrorsNameTheOption) {
  EXPECT_NE(error_of({"--http-keepalive", "often"}).find("http-keepalive"), std::string::npos);
  EXPECT_NE(error_of({"--static-map", "/static"}).find("MOUNTPOINT=DIR"), std::string::npos);
  EXPECT_NE(error_of({"--http-timeout", "0"}).find("http-timeout"), std::string::npos);
  EXPECT_NE(error_of({"--https", ":443,a.crt"}).find("must be ADDR,CERT,KEY"), std::string::npos);
  EXPECT_NE(error_of({"--http-socket", "127.0.0.1:99999"}).find("http-socket"), std::string::npos);
}

}  // namespace
}  // namespace brood::cli
