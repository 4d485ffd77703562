// The etcd gateway client's pure parts: endpoints and base64 (etcd_client.hpp).
#include "etcd_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "etcd_kv.hpp"

namespace brood::legion::etcd {
namespace {

TEST(EtcdClient, ParsesEndpointLists) {
  std::vector<url> eps;
  ASSERT_EQ(parse_endpoints("http://127.0.0.1:2379, http://[::1]:2380/,http://etcd.local:1", eps),
            "");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].host, "127.0.0.1");
  EXPECT_EQ(eps[0].port, "2379");
  EXPECT_EQ(eps[1].host, "::1");
  EXPECT_EQ(eps[1].port, "2380");
  EXPECT_EQ(eps[2].host, "etcd.local");
  EXPECT_EQ(eps[2].text, "http://etcd.local:1");
}

TEST(EtcdClient, NamesWhatIsWrongWithAnEndpoint) {
  std::vector<url> eps;
  EXPECT_EQ(parse_endpoints("", eps), "legion-etcd: no endpoint in ''");
  EXPECT_EQ(parse_endpoints("https://h:1", eps),
            "legion-etcd: 'https://h:1': only http:// is supported (no TLS)");
  EXPECT_EQ(parse_endpoints("h:1", eps), "legion-etcd: 'h:1': expected http://HOST:PORT");
  EXPECT_EQ(parse_endpoints("http://h", eps), "legion-etcd: 'http://h': no port");
  EXPECT_EQ(parse_endpoints("http://h:1,http://h:99999", eps),
            "legion-etcd: 'http://h:99999': bad port '99999'");
  EXPECT_EQ(parse_endpoints("http://:1", eps), "legion-etcd: 'http://:1': no host");
  EXPECT_EQ(parse_endpoints("http://[::1:1", eps),
            "legion-etcd: 'http://[::1:1': unterminated IPv6 address");
}

TEST(EtcdClient, Base64RoundTripsAndRefusesGarbage) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "brood/legion/web/members/127.0.0.1:4000",
                                std::string("\0\xff\x10", 3)}) {
    std::string back;
    ASSERT_TRUE(base64_decode(base64_encode(s), back)) << s;
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(base64_encode("brood/legion/web"), "YnJvb2QvbGVnaW9uL3dlYg==");  // as etcd wrote it
  std::string out;
  EXPECT_FALSE(base64_decode("abc", out));
  EXPECT_FALSE(base64_decode("ab$=", out));
}

TEST(EtcdClient, PrefixEndIsTheNextKey) {
  EXPECT_EQ(prefix_end("brood/legion/web/"), "brood/legion/web0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
}

TEST(EtcdClient, ReadsInt64FieldsWrittenAsStrings) {
  const auto j = nlohmann::json::parse(R"({"ID":"2324035857370535941","TTL":2})");
  EXPECT_EQ(int_field(j, "ID"), 2324035857370535941);
  EXPECT_EQ(int_field(j, "TTL"), 2);
  EXPECT_EQ(int_field(j, "missing"), 0);
}

// A fake gateway on loopback: each connection gets `answer` to its first request (then is
// closed), or nothing at all when `answer` is empty (held open until the server goes).
class fake_gateway {
 public:
  explicit fake_gateway(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_gateway() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (int c : held_) ::close(c);
    ::close(fd_);
  }
  std::vector<url> endpoints() const {
    std::vector<url> eps;
    parse_endpoints("http://127.0.0.1:" + std::to_string(port_), eps);
    return eps;
  }
  int accepted() const { return accepted_; }

 private:
  void serve() {
    for (;;) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      if (answer_.empty()) {
        held_.push_back(c);
        continue;
      }
      (void)::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::string answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::vector<int> held_;
  std::thread thread_;
};

std::string http_answer(const std::string& status, const std::string& body) {
  return "HTTP/1.1 " + status +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST(EtcdClientFake, AnAnswerWithoutJsonIsNamed) {
  fake_gateway g(http_answer("404 Not Found", "not found"));
  client c(g.endpoints());
  const reply r = c.post("/v3/kv/range", nlohmann::json::object(), std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.transport);
  EXPECT_NE(r.error.find("HTTP 404 without JSON: not found"), std::string::npos) << r.error;
}

TEST(EtcdClientFake, EtcdsErrorIsPassedOn) {
  fake_gateway g(http_answer(
      "404 Not Found",
      R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})"));
  client c(g.endpoints());
  const reply r = c.post("/v3/lease/revoke", {{"ID", "1"}}, std::chrono::seconds(5));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.transport);
  EXPECT_EQ(r.code, not_found);
  EXPECT_NE(r.error.find("requested lease not found"), std::string::npos) << r.error;
}

TEST(EtcdClientFake, AClosedKeepAliveConnectionIsReopened) {
  // Each connection answers once and closes without saying so: the second call finds its
  // connection dead and must try again on a new one.
  fake_gateway g(http_answer("200 OK", R"({"header":{"revision":"1"}})"));
  client c(g.endpoints());
  for (int i = 0; i < 3; ++i) {
    const reply r =
        c.post("/v3/maintenance/status", nlohmann::json::object(), std::chrono::seconds(5));
    EXPECT_TRUE(r.ok) << i << ": " << r.error;
  }
  EXPECT_EQ(g.accepted(), 3);
}

TEST(EtcdClientFake, ASilentEndpointTimesOut) {
  fake_gateway g("");
  client c(g.endpoints());
  const reply r =
      c.post("/v3/lease/keepalive", nlohmann::json::object(), std::chrono::milliseconds(200));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.transport);
  EXPECT_NE(r.error.find("timeout"), std::string::npos) << r.error;
}

TEST(EtcdClientFake, InterruptEndsACallAtOnce) {
  fake_gateway g("");
  client c(g.endpoints());
  std::atomic<bool> done{false};
  reply r;
  std::thread t([&] {
    r = c.post("/v3/lease/keepalive", nlohmann::json::object(), std::chrono::seconds(60));
    done = true;
  });
  while (g.accepted() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const auto asked = std::chrono::steady_clock::now();
  c.interrupt();
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  EXPECT_TRUE(done);
  EXPECT_TRUE(r.transport);
  c.resume();
}

}  // namespace
}  // namespace brood::legion::etcd
