#pragma once
// eventually(): the one wait-with-timeout of the tests. Polls a predicate until it holds or the
// timeout passes; a test waits on what it expects (a state, a count, a port answering) with it
// instead of sleeping a fixed time.
#include <chrono>
#include <thread>

namespace brood::testing {

using namespace std::chrono_literals;

// True as soon as `pred()` holds, false if it still does not after `timeout` (`pred` is called
// once more at the deadline). Polls every `every`. `pred` runs on the calling thread.
template <class Predicate>
bool eventually(Predicate&& pred, std::chrono::milliseconds timeout = 10s,
                std::chrono::milliseconds every = 5ms) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return static_cast<bool>(pred());
}

}  // namespace brood::testing
