// The etcd gateway client's pure parts: endpoints and base64 (etcd_client.hpp).
#include "etcd_client.hpp"

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
  for (const std::string s :
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

}  // namespace
}  // namespace brood::legion::etcd
