// Packet handlers with request bodies (body_policy::content_length), raw replies, peers.
#include <string>
#include <thread>

#include "brood/wire/vars.hpp"
#include "serve_fixture.hpp"

namespace brood::test {
namespace {

constexpr std::uint8_t wsgi = 0;
constexpr std::uint8_t raw_http = 9;
constexpr std::uint8_t silent = 18;

// modifier1 0: answers [255, size, 1] + body. 9: a raw HTTP answer, then close. 18: no answer.
class worker_body_test : public serve_fixture {
 protected:
  worker_body_test() {
    router_.on_packet(
        wsgi,
        [this](const node::request& r) {
          peer_ = std::string(r.peer);
          node::reply out;
          wire::append_packet(out.data, 255, 1, r.body);
          return std::optional<node::reply>(std::move(out));
        },
        node::body_policy::content_length);
    router_.on_packet(raw_http, [](const node::request&) {
      const std::string text = "HTTP/1.0 200 OK\r\n\r\nhi";
      return std::optional<node::reply>(node::reply{wire::bytes(text.begin(), text.end()), false});
    });
    router_.on_packet(silent, [](const node::request&) { return std::optional<node::reply>(); });
  }

  static wire::bytes request_with_body(const std::string& body) {
    wire::bytes vars;
    const std::string length = std::to_string(body.size());
    EXPECT_FALSE(wire::append_vars(vars, {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", length}}));
    wire::bytes out;
    EXPECT_FALSE(wire::append_packet(out, wsgi, 0, vars));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }

  static std::string text(const packet& p) { return std::string(wire::as_chars(p.payload)); }

  std::string peer_;  // written on the worker thread, read after a reply
};

TEST_F(worker_body_test, BodyFollowingTheVarsReachesTheHandler) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(request_with_body("hello")));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(text(*reply), "hello");
  EXPECT_EQ(peer_.rfind("127.0.0.1:", 0), 0u) << peer_;
}

TEST_F(worker_body_test, BodyArrivingInPiecesAndALargeBodyAreAssembled) {
  raw_socket c(start_tcp());
  const auto request = request_with_body("0123456789");
  ASSERT_TRUE(c.send(wire::bytes_view(request).first(request.size() - 6)));
  std::this_thread::sleep_for(50ms);  // the body arrives in two pieces: the behaviour under test
  ASSERT_TRUE(c.send(wire::bytes_view(request).last(6)));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(text(*reply), "0123456789");
  const std::string big(60000, 'b');  // over buffer-size: the buffer grows for the body
  ASSERT_TRUE(c.send(request_with_body(big)));
  reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(text(*reply), big);
}

TEST_F(worker_body_test, RequestPipelinedAfterABodyIsAnswered) {
  raw_socket c(start_tcp());
  auto both = request_with_body("abc");
  both.insert(both.end(), {100, 0, 0, 0});
  ASSERT_TRUE(c.send(both));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(text(*reply), "abc");
  EXPECT_EQ(c.read_exact(4), (wire::bytes{100, 0, 0, 1}));
}

TEST_F(worker_body_test, BodyOverTheLimitIsRefused) {
  cfg_.max_body_size = 100;
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(request_with_body(std::string(101, 'x'))));
  auto reply = c.read_packet();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->head.modifier1, 255);
  EXPECT_EQ(reply->head.modifier2, 0);
  EXPECT_EQ(wire::decode_error_reply(reply->payload, wire::limits{}).type, "brood.ProtocolError");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(worker_body_test, RawReplyWithoutKeepAliveIsFollowedByClose) {
  raw_socket c(start_tcp());
  ASSERT_TRUE(c.send(wire::bytes{raw_http, 0, 0, 0}));
  auto answer = c.read_exact(21);
  ASSERT_TRUE(answer);
  EXPECT_EQ(wire::as_chars(*answer), "HTTP/1.0 200 OK\r\n\r\nhi");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(worker_body_test, HandlerAnsweringNothingClosesTheConnection) {
  auto where = start_tcp();
  raw_socket c(where);
  ASSERT_TRUE(c.send(wire::bytes{silent, 0, 0, 0}));
  EXPECT_TRUE(c.closed_by_peer());
  raw_socket next(where);
  ASSERT_TRUE(next.send(wire::bytes{100, 0, 0, 0}));
  EXPECT_EQ(next.read_exact(4), (wire::bytes{100, 0, 0, 1}));
}

}  // namespace
}  // namespace brood::test
