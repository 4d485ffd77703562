#pragma once
// The one way brood includes Asio. Boost 1.74's awaitable.hpp uses std::exchange without
// including <utility> (Debian 12, g++ 12, C++20), so <utility> comes first.
#include <utility>

#include <boost/asio.hpp>

namespace brood {
namespace asio = boost::asio;
}
