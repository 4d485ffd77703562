// The kept-alive answer framing (docs/protocol.md §6.1).
#include "brood/wire/keepalive_frames.hpp"

#include <gtest/gtest.h>

#include <string>

namespace brood::wire {
namespace {

std::string unframe(const bytes& framed, std::size_t step, bool& done, std::size_t& left) {
  keepalive_frame_reader r;
  std::string out;
  std::size_t at = 0;
  while (at < framed.size() && !r.done()) {
    const std::size_t n = std::min(step, framed.size() - at);
    bytes_view in(framed.data() + at, n);
    while (!in.empty() && !r.done()) {
      bytes_view payload;
      in = in.subspan(r.feed(in, payload));
      out.append(as_chars(payload));
    }
    at += n - in.size();
    if (r.done()) break;
  }
  done = r.done();
  left = framed.size() - at;
  return out;
}

TEST(keepalive_frames_test, OneChunkAndTheFinalOne) {
  bytes out;
  append_keepalive_frames(out, as_bytes("hello"));
  const bytes want = {5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0};
  EXPECT_EQ(out, want);
  bytes empty;
  append_keepalive_frames(empty, {});
  EXPECT_EQ(empty, (bytes{0, 0, 0, 0}));
}

TEST(keepalive_frames_test, TheReaderGivesBackTheAnswerWhateverTheCuts) {
  std::string answer(70000, '\0');
  for (std::size_t i = 0; i < answer.size(); ++i) answer[i] = static_cast<char>(i * 13);
  bytes framed = {3, 0, 0, 0, 'a', 'b', 'c'};
  append_keepalive_frames(framed, as_bytes(answer));
  framed.push_back('X');  // the next answer's first byte: not consumed
  for (std::size_t step : {1u, 2u, 3u, 5u, 4096u, 100000u}) {
    bool done = false;
    std::size_t left = 0;
    EXPECT_EQ(unframe(framed, step, done, left), "abc" + answer) << step;
    EXPECT_TRUE(done);
    EXPECT_EQ(left, 1u) << step;
  }
}

TEST(keepalive_frames_test, BoundariesAreKnown) {
  keepalive_frame_reader r;
  EXPECT_TRUE(r.at_boundary());
  const bytes part = {2, 0};
  bytes_view payload;
  EXPECT_EQ(r.feed(part, payload), 2u);
  EXPECT_FALSE(r.at_boundary());
  const bytes rest = {0, 0, 'x'};
  EXPECT_EQ(r.feed(rest, payload), 3u);
  EXPECT_EQ(as_chars(payload), "x");
  EXPECT_FALSE(r.at_boundary());
  const bytes y = {'y'};
  r.feed(y, payload);
  EXPECT_TRUE(r.at_boundary());
  EXPECT_FALSE(r.done());
}

}  // namespace
}  // namespace brood::wire
