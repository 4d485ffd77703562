#pragma once
// The options of uWSGI's config syntax itself (logic blocks, set-placeholder, strict,
// show-config), the classification of the keys that are no brood option, and uWSGI's
// show-config text. Used by options.cpp.
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "config_stream.hpp"

namespace brood::cli {

// The config-syntax options, so that the command line accepts them (--if-env X ... --endif).
const boost::program_options::options_description& config_syntax_options();

// True for the keys config_syntax_options() has and `ini`, `include`, `inherit`, `set`: they
// shape the config and are no option of the node.
bool is_syntax_key(const std::string& key);

// The keys of `entries` that brood does not implement, as warnings (one line for each key that
// is no option at all, one line listing the uWSGI options brood lacks), or, with `strict`, an
// option_error for the first of them naming it and where it was. `known(key)` says whether a
// key is in brood's option table. Entries from the environment that name no uWSGI option, and
// set-placeholder keys, are placeholders and never reported.
std::vector<std::string> check_keys(const std::vector<config_entry>& entries, bool strict,
                                    const std::function<bool(const std::string&)>& known);

// uWSGI's show-config text of the resolved entries: ";uWSGI instance configuration", "[uwsgi]",
// one `key = value` line each (a bare command-line flag reads "true"), ";end of configuration".
std::string show_config_text(const std::vector<config_entry>& entries);

}  // namespace brood::cli
