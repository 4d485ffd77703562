#pragma once
// Value semantics for boost::program_options that parse strictly and say why a value was refused.
// Every node option uses one of these, so the command line and ini files share one validation path.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace brood::cli {

namespace po = boost::program_options;

// A user error in options or ini files; what() is the whole message (without "brood: ").
class option_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by the semantics below while parsing one value. reason() says why, without the option
// name ("must be between 1 and 65535"); what(), once program_options has added the option name
// (po::store does), reads "invalid value 'V' for option '--name': reason".
class bad_value : public po::error_with_option_name {
 public:
  bad_value(const std::string& value, const std::string& reason)
      : po::error_with_option_name("invalid value '" + value +
                                   "' for option '%canonical_option%': " + reason),
        reason_(reason) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

// The largest value a duration option takes: a day (lifetime options allow a year of their own).
inline constexpr std::uint64_t max_seconds = 86400;
inline constexpr std::uint64_t max_milliseconds = max_seconds * 1000;
// The most worker processes a node (and a cheaper algorithm) may be asked for.
inline constexpr std::uint64_t max_processes = 4096;
// The width of --help's option descriptions.
inline constexpr unsigned help_width = 100;

// An unsigned integer in [lo, hi] (decimal digits only: no sign, no spaces, no suffix).
po::typed_value<std::uint64_t>* uint_value(std::uint64_t lo, std::uint64_t hi);

// One word out of `choices` (exact, case-sensitive); any other is refused with the list
// ("must be one of a, b, c"). REQUIRES: choices is not empty.
po::typed_value<std::string>* choice_value(std::vector<std::string> choices);

// A flag: `--name` alone or an empty ini value means true; otherwise true/false, 1/0, yes/no,
// on/off. Defaults to false.
po::typed_value<bool>* flag_value();

// A positive number of seconds, fractions allowed ("0.5").
po::typed_value<double>* seconds_value();

// A repeatable socket address ("host:port", ":port", a unix path); each one is checked with
// os::parse_address.
po::typed_value<std::vector<std::string>>* address_list_value();

// Any repeatable string (ini files).
po::typed_value<std::vector<std::string>>* string_list_value();

// Reading stored options: an uint_value option that has a default; a repeatable string option
// (empty when absent); a string option ("" when absent).
std::uint64_t number(const po::variables_map& vm, const char* name);
std::vector<std::string> strings(const po::variables_map& vm, const char* name);
std::string text(const po::variables_map& vm, const char* name);

}  // namespace brood::cli
