#pragma once
// The option names of uWSGI 2.0.21 (the core and the python3 plugin, as `uwsgi --help` and
// `uwsgi --plugin python3 --help` list them), to tell an option that brood does not implement from
// a key that is no option at all (a placeholder or a typo).
#include <span>
#include <string_view>

namespace brood::cli {

// Every name, sorted (byte order), without leading dashes.
std::span<const std::string_view> uwsgi_option_names();

// True when `name` is an option of uWSGI 2.0.21.
bool is_uwsgi_option(std::string_view name);

}  // namespace brood::cli
