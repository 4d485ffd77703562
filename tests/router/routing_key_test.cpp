#include "brood/router/routing_key.hpp"

#include <gtest/gtest.h>

namespace brood::router {
namespace {

TEST(routing_key, PrecedenceIsFastrouterKeyThenHostThenServerName) {
  std::vector<wire::var> v = {{"SERVER_NAME", "s.test"}, {"HTTP_HOST", "h.test"}};
  EXPECT_EQ(request_key(v), "h.test");
  v.push_back({"UWSGI_FASTROUTER_KEY", "k.test"});
  EXPECT_EQ(request_key(v), "k.test");
  EXPECT_EQ(request_key({{"SERVER_NAME", "s.test"}}), "s.test");
  EXPECT_EQ(request_key({{"PATH_INFO", "/"}}), "");
}

TEST(routing_key, DotsplitKeepsTheDotForUpToFiveTries) {
  EXPECT_EQ(lookup_keys("www.a.com", false), (std::vector<std::string_view>{"www.a.com"}));
  EXPECT_EQ(lookup_keys("www.a.com", true),
            (std::vector<std::string_view>{"www.a.com", ".a.com", ".com"}));
  EXPECT_EQ(lookup_keys("a.b.c.d.e.f.g", true),
            (std::vector<std::string_view>{"a.b.c.d.e.f.g", ".b.c.d.e.f.g", ".c.d.e.f.g",
                                           ".d.e.f.g", ".e.f.g"}));
  EXPECT_TRUE(lookup_keys("", true).empty());
}

TEST(routing_key, HashIsUwsgis) {
  EXPECT_EQ(key_hash("foo.it"), 14074u);  // as uWSGI 2.0.21's stats show it
}

}  // namespace
}  // namespace brood::router
