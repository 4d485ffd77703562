// brood's router (`brood --fastrouter`) with real uWSGI 2.0.21 nodes: they subscribe to it
// (plain and RSA-signed) and serve its requests; a killed node costs no request. uWSGI is
// stopped with SIGKILL (SIGTERM makes it reload). Skipped when uwsgi is not installed.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "brood/wire/vars.hpp"
#include "eventually.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"
#include "temp_dir.hpp"

namespace brood::testing {
namespace {

constexpr const char* uwsgi_binary = "/usr/bin/uwsgi";

class router_uwsgi_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(uwsgi_binary, X_OK) != 0) GTEST_SKIP() << "uwsgi is not installed";
    std::ofstream(dir_.path() + "/app.py") << "import os\n"
                                              "def application(env, start_response):\n"
                                              "    start_response('200 OK', [])\n"
                                              "    return [b'pid=%d' % os.getpid()]\n";
  }
  void TearDown() override {
    for (auto& p : procs_) p->kill_all();
  }
  node_process& start(const std::string& binary, std::vector<std::string> args) {
    procs_.push_back(std::make_unique<node_process>());
    procs_.back()->exec(binary, std::move(args));
    return *procs_.back();
  }
  // Starts brood's router from an ini file (ini lines after the [uwsgi] header); returns false
  // when its sockets did not come up. router_ and subscription_ get the bound addresses.
  bool start_router(const std::string& extra = "") {
    const std::string ini = dir_.path() + "/router.ini";
    std::ofstream(ini) << "[uwsgi]\nfastrouter = 127.0.0.1:0\n"
                          "fastrouter-subscription-server = 127.0.0.1:0\n"
                       << extra;
    node_process& r = start(BROOD_BINARY, {"--ini", ini});
    auto a = r.wait_for_line(std::regex(R"(brood fastrouter bound on (\S+))"));
    auto s = r.wait_for_line(std::regex(R"(subscription server bound on (\S+))"));
    if (!a || !s) return false;
    router_ = (*a)[1];
    subscription_ = (*s)[1];
    return true;
  }
  node_process& start_uwsgi_node(const std::string& key, const std::string& sign = "") {
    return start(uwsgi_binary, {"--plugin", "python3", "--socket", "127.0.0.1:0", "--wsgi-file",
                                dir_.path() + "/app.py", "--subscribe2",
                                "server=" + subscription_ + ",key=" + key +
                                    (sign.empty() ? "" : ",sign=" + sign)});
  }
  // The body of the answer to a GET with HTTP_HOST `host` through the router ("" if none).
  std::string get(const std::string& host) {
    wire::bytes block, packet;
    std::vector<wire::var> vars = {{"REQUEST_METHOD", "GET"},
                                   {"PATH_INFO", "/"},
                                   {"SERVER_PROTOCOL", "HTTP/1.0"},
                                   {"HTTP_HOST", host}};
    (void)wire::append_vars(block, vars);
    (void)wire::append_packet(packet, 0, 0, block);
    raw_socket s(router_);
    if (!s.connected() || !s.send(packet)) return "";
    const std::string answer = s.read_to_eof(5s).value_or("");
    const std::size_t body = answer.find("\r\n\r\n");
    return body == std::string::npos ? "" : answer.substr(body + 4);
  }

  temp_dir dir_{"brood_router_"};
  std::vector<std::unique_ptr<node_process>> procs_;
  std::string router_, subscription_;
};

TEST_F(router_uwsgi_test, UwsgiNodesSubscribeAndServeAndAKilledOneCostsNoRequest) {
  ASSERT_TRUE(start_router()) << procs_[0]->all_output();
  node_process& n1 = start_uwsgi_node("app.test");
  node_process& n2 = start_uwsgi_node("app.test");
  node_process& router = *procs_[0];
  ASSERT_TRUE(router.wait_for("app.test => new node", 2)) << router.all_output();
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) ++seen[get("app.test")];
  EXPECT_EQ(seen.size(), 2u);  // wrr: both nodes
  EXPECT_EQ(seen[""], 0);
  n2.signal(SIGKILL);
  ASSERT_TRUE(n2.wait_exit());
  int failed = 0;
  for (int i = 0; i < 20; ++i) failed += get("app.test").empty() ? 1 : 0;
  EXPECT_EQ(failed, 0) << router.all_output();
  EXPECT_TRUE(router.wait_for("as failed")) << router.all_output();
  (void)n1;
}

TEST_F(router_uwsgi_test, SignedUwsgiSubscriptionsAreCheckedWithThePublicKey) {
  const std::string keys = dir_.path() + "/keys";
  ASSERT_EQ(::mkdir(keys.c_str(), 0700), 0);
  const std::string priv = dir_.path() + "/priv.pem";
  ASSERT_EQ(std::system(("openssl genrsa -out " + priv + " 2048 2>/dev/null && openssl rsa -in " +
                         priv + " -pubout -out " + keys + "/signed.test.pem 2>/dev/null")
                            .c_str()),
            0);
  ASSERT_TRUE(start_router("subscriptions-sign-check = SHA1:" + keys + "\n"))
      << procs_[0]->all_output();
  node_process& router = *procs_[0];
  start_uwsgi_node("signed.test", "SHA1:" + priv);
  start_uwsgi_node("unsigned.test");
  ASSERT_TRUE(router.wait_for("signed.test => new node")) << router.all_output();
  EXPECT_TRUE(router.wait_for("unsigned subscription for key \"unsigned.test\""))
      << router.all_output();
  EXPECT_NE(get("signed.test").find("pid="), std::string::npos);
  EXPECT_EQ(get("unsigned.test"), "");
}

// nginx's uwsgi_pass in front of brood's router: the Host header is the key; a key without a node
// is nginx's 502 (the router closes without an answer, as uWSGI's fastrouter).
TEST_F(router_uwsgi_test, NginxUwsgiPassFrontsTheRouter) {
  if (::access("/usr/sbin/nginx", X_OK) != 0) GTEST_SKIP() << "nginx is not installed";
  ASSERT_TRUE(start_router()) << procs_[0]->all_output();
  node_process& router = *procs_[0];
  start_uwsgi_node("web.test");
  ASSERT_TRUE(router.wait_for("web.test => new node")) << router.all_output();
  const std::string port = dead_address().substr(10);  // "127.0.0.1:" + a free port
  std::ofstream(dir_.path() + "/nginx.conf")
      << "worker_processes 1;\nerror_log stderr;\npid nginx.pid;\n"
         "events { worker_connections 64; }\n"
         "http { access_log off; client_body_temp_path "
      << dir_.path()
      << ";\n"
         "  server { listen 127.0.0.1:"
      << port
      << ";\n"
         "    location / { include /etc/nginx/uwsgi_params; uwsgi_pass "
      << router_ << "; } } }\n";
  start("/usr/sbin/nginx",
        {"-p", dir_.path(), "-c", dir_.path() + "/nginx.conf", "-g", "daemon off;"});
  auto http_get = [&](const std::string& host) {
    raw_socket s("127.0.0.1:" + port);
    if (!s.connected()) return std::string();
    const std::string req = "GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
    if (!s.send(wire::as_bytes(req))) return std::string();
    return s.read_to_eof(5s).value_or("");
  };
  ASSERT_TRUE(eventually([&] { return http_get("web.test").find("pid=") != std::string::npos; }))
      << router.all_output() << procs_.back()->all_output();
  EXPECT_NE(http_get("other.test").find(" 502 "), std::string::npos);
}

}  // namespace
}  // namespace brood::testing
