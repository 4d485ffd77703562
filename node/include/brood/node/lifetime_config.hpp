#pragma once
// Worker lifetime: harakiri, max-requests, max-worker-lifetime, reload-on-rss and the other
// recycling options. Filled by the CLI (cli/src/lifetime_options.cpp).
namespace brood::node {

struct lifetime_config {};

}  // namespace brood::node
