#pragma once
// Option parsing of the node role: the command line and the ini files it names, in order of
// appearance (a later scalar value wins, repeatable options append), validated by one table
// (option_table.hpp). Internal to brood_cli; tests include it directly.
#include <optional>
#include <string>
#include <vector>

#include "brood/emperor/config.hpp"
#include "brood/node/config.hpp"
#include "brood/python/host.hpp"
#include "brood/router/config.hpp"

namespace brood::cli {

struct options {
  node::node_config config;
  python::app_options app;          // wanted() when the node runs Python code
  emperor::emperor_config emperor;  // sources not empty: run an emperor, not a node
  router::router_config router;     // wanted(): run a router (fastrouter), not a node
  bool help = false;
  bool version = false;
  std::string show_config;  // with `show-config`: uWSGI's text of the resolved options, to print
};

// Either the parsed options or an error message that names the option, value or file at fault
// ("unknown option '--foo'", "invalid value 'abc' for option '--processes': not an unsigned
// integer", "cannot open ini file 'x.ini': No such file or directory").
// `warnings` are lines for the log: keys that are no option (kept as placeholders), uWSGI
// options brood does not implement, unreadable for-readline files.
struct options_result {
  std::optional<cli::options> options;
  std::string error;
  std::vector<std::string> warnings;
};

// Parses `args` (argv without the program name), after the options given by UWSGI_<NAME>
// variables of `environment` ("K=V" strings; the first overload reads the process's), with
// uWSGI's config syntax (bare flags, placeholders, magic variables, $(ENV), @(file), logic
// blocks; docs/config.md). `environment` is also what $(NAME) and if-env read. Never throws for
// user errors.
options_result parse_options(const std::vector<std::string>& args);
options_result parse_options(const std::vector<std::string>& args,
                             const std::vector<std::string>& environment);

// The text `brood --help` prints: usage, subcommands and every option with its help.
std::string help_text();

}  // namespace brood::cli
