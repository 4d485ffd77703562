#pragma once
// The options brood parses; option_table()'s looked up by name in constant time, and their
// default values ready to copy. boost's options_description::find
// compares the name with every description (copying both strings) at each call, and po::store
// builds every default again at each parse: ~0.5 ms of a parse's CPU. Both are built once per
// process, at the first call: a fork-server base builds them before it forks (its spare's
// rehearsal parses), so its adopted vassals find them ready.
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace brood::cli {

// option_table() and config_syntax_options() together.
const boost::program_options::options_description& parse_table();

// The descriptions of parse_table() that the tokens of `args` can name: "--NAME" or "--NAME=V"
// by a long name, "-X..." by the short form of each of its characters (sticky short options).
// boost's command-line parser compares every token with each description it is given (copying
// strings): given these few instead of parse_table()'s hundreds, it finds the same options and
// leaves the same tokens unregistered (~0.08 ms of a forked vassal's parse, bench/RESULTS.md).
boost::program_options::options_description command_line_table(
    const std::vector<std::string>& args);

// The description option_table().find_nothrow(name, false) finds (nullptr when none): by its
// long names and its short form ("-s"), else by boost's own scan (a name no description spells).
const boost::program_options::option_description* find_option(const std::string& name);

// The variables_map po::store leaves before any option is stored: every option of
// option_table() that has a default, marked defaulted. Copy it, then store over it (store_over).
const boost::program_options::variables_map& option_defaults();

// What po::store does with one option of `key` and its tokens: a defaulted value is replaced,
// a composing option's tokens are added to those stored before. Throws what the option's
// semantic throws for a bad value.
void store_over(boost::program_options::variables_map& vm, const std::string& key,
                const std::vector<std::string>& tokens);

}  // namespace brood::cli
