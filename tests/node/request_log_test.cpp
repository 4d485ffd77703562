// The request log line (node/request_log.hpp): uWSGI's default format byte for byte, the
// log-format variables, and which requests the log-* switches let through.
#include "brood/node/request_log.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <string>
#include <vector>

namespace brood::node {
namespace {

class request_log_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    vars_ = {{"REQUEST_METHOD", "GET"},       {"REQUEST_URI", "/foo?x=1"},
             {"PATH_INFO", "/foo"},           {"QUERY_STRING", "x=1"},
             {"SERVER_PROTOCOL", "HTTP/1.1"}, {"REMOTE_ADDR", "127.0.0.1"},
             {"HTTP_HOST", "example.org"},    {"HTTP_USER_AGENT", "agent/1"}};
    rec_.vars = &vars_;
    rec_.vars_bytes = 259;
    rec_.status = 200;
    rec_.body_bytes = 11;
    rec_.headers = 2;
    rec_.header_bytes = 53;
    rec_.start_us = 1796562082000000;  // Sun Dec  6 13:01:22 2026 UTC
    rec_.end_us = rec_.start_us + 1500;
  }

  std::vector<wire::var> vars_;
  request_record rec_;
  log_config cfg_;
};

TEST_F(request_log_test, DefaultLineIsUwsgis) {
  EXPECT_EQ(format_request_line(cfg_, rec_, 8219, 1, 1, 1),
            "[pid: 8219|app: 0|req: 1/1] 127.0.0.1 () {8 vars in 259 bytes} "
            "[Sun Dec  6 13:01:22 2026] GET /foo?x=1 => generated 11 bytes in 1 msecs "
            "(HTTP/1.1 200) 2 headers in 53 bytes (1 switches on core 0)");
}

TEST_F(request_log_test, UriFromPathAndQueryWithoutRequestUri) {
  vars_.erase(vars_.begin() + 1);
  EXPECT_NE(format_request_line(cfg_, rec_, 1, 1, 1, 1).find(" GET /foo?x=1 => "),
            std::string::npos);
}

TEST_F(request_log_test, LogFormatVariables) {
  cfg_.log_format =
      "%(addr) - %(user) [%(ltime)] \"%(method) %(uri) %(proto)\" %(status) %(size) "
      "%(host) %(uagent) %(msecs) %(micros) %(pid) %(wid) %(var.QUERY_STRING) %(nope) %(hsize)";
  EXPECT_EQ(format_request_line(cfg_, rec_, 42, 3, 7, 9),
            "127.0.0.1 -  [06/Dec/2026:13:01:22 +0000] \"GET /foo?x=1 HTTP/1.1\" 200 11 "
            "example.org agent/1 1 1500 42 3 x=1 %(nope) 53");
}

TEST_F(request_log_test, SwitchesPickTheRequestsLoggedWithDisableLogging) {
  EXPECT_TRUE(should_log(cfg_, rec_));
  cfg_.disable_logging = true;
  EXPECT_FALSE(should_log(cfg_, rec_));
  rec_.status = 404;
  EXPECT_FALSE(should_log(cfg_, rec_));
  cfg_.log_4xx = true;
  EXPECT_TRUE(should_log(cfg_, rec_));
  rec_.status = 502;
  EXPECT_FALSE(should_log(cfg_, rec_));
  cfg_.log_5xx = true;
  EXPECT_TRUE(should_log(cfg_, rec_));
  rec_.status = 200;
  cfg_.log_slow = std::chrono::milliseconds(1);
  EXPECT_FALSE(should_log(cfg_, rec_));  // 1 ms is not slower than 1 ms
  rec_.end_us = rec_.start_us + 2500;
  EXPECT_TRUE(should_log(cfg_, rec_));
  cfg_.log_slow = {};
  cfg_.log_big = 10;
  EXPECT_TRUE(should_log(cfg_, rec_));
  cfg_.log_big = 0;
  cfg_.log_zero = true;
  EXPECT_FALSE(should_log(cfg_, rec_));
  rec_.body_bytes = 0;
  EXPECT_TRUE(should_log(cfg_, rec_));
}

}  // namespace
}  // namespace brood::node
