#include "option_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <utility>

#include "brood/os/address.hpp"

namespace brood::cli {
namespace {

// The single token of an option that takes one value ("" when none was given).
const std::string& single_token(const std::vector<std::string>& tokens) {
  static const std::string empty;
  if (tokens.size() > 1) throw bad_value(tokens.front(), "given more than one value");
  return tokens.empty() ? empty : tokens.front();
}

class uint_semantic : public po::typed_value<std::uint64_t> {
 public:
  uint_semantic(std::uint64_t lo, std::uint64_t hi)
      : po::typed_value<std::uint64_t>(nullptr), lo_(lo), hi_(hi) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    const std::string& s = single_token(tokens);
    std::uint64_t n = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, n);
    bool digits = !s.empty() && std::isdigit(static_cast<unsigned char>(s.front()));
    if (!digits || ec == std::errc::invalid_argument || ptr != end)
      throw bad_value(s, "not an unsigned integer");
    if (ec == std::errc::result_out_of_range || n < lo_ || n > hi_)
      throw bad_value(s, "must be between " + std::to_string(lo_) + " and " + std::to_string(hi_));
    store = n;
  }

 private:
  std::uint64_t lo_;
  std::uint64_t hi_;
};

class flag_semantic : public po::typed_value<bool> {
 public:
  flag_semantic() : po::typed_value<bool>(nullptr) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    std::string s = single_token(tokens);
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s.empty() || s == "true" || s == "1" || s == "yes" || s == "on") {
      store = true;
    } else if (s == "false" || s == "0" || s == "no" || s == "off") {
      store = false;
    } else {
      throw bad_value(s, "expected true or false (1/0, yes/no, on/off)");
    }
  }
};

class choice_semantic : public po::typed_value<std::string> {
 public:
  explicit choice_semantic(std::vector<std::string> choices)
      : po::typed_value<std::string>(nullptr), choices_(std::move(choices)) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    const std::string& s = single_token(tokens);
    if (std::find(choices_.begin(), choices_.end(), s) != choices_.end()) {
      store = s;
      return;
    }
    std::string list;
    for (const std::string& c : choices_) list += (list.empty() ? "" : ", ") + c;
    throw bad_value(s, "must be one of " + list);
  }

 private:
  std::vector<std::string> choices_;
};

class seconds_semantic : public po::typed_value<double> {
 public:
  seconds_semantic() : po::typed_value<double>(nullptr) {}

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    const std::string& s = single_token(tokens);
    double d = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, d);
    if (s.empty() || ec != std::errc{} || ptr != end || !std::isfinite(d))
      throw bad_value(s, "not a number of seconds");
    if (d <= 0 || d > 86400) throw bad_value(s, "must be more than 0 and at most 86400 seconds");
    store = d;
  }
};

// Appends every token to the stored vector (the option may be given many times).
class list_semantic : public po::typed_value<std::vector<std::string>> {
 public:
  explicit list_semantic(bool addresses)
      : po::typed_value<std::vector<std::string>>(nullptr), addresses_(addresses) {
    composing();
  }

  void xparse(boost::any& store, const std::vector<std::string>& tokens) const override {
    if (store.empty()) store = std::vector<std::string>{};
    auto& list = boost::any_cast<std::vector<std::string>&>(store);
    const std::string& s = single_token(tokens);
    if (s.empty()) throw bad_value(s, "empty value");
    if (addresses_) {
      if (auto a = os::parse_address(s); !a) throw bad_value(s, a.error().message());
    }
    list.push_back(s);
  }

 private:
  bool addresses_;
};

}  // namespace

po::typed_value<std::uint64_t>* uint_value(std::uint64_t lo, std::uint64_t hi) {
  auto* v = new uint_semantic(lo, hi);
  v->value_name("N");
  return v;
}

po::typed_value<bool>* flag_value() {
  auto* v = new flag_semantic();
  v->implicit_value(true, "true")->default_value(false, "false")->value_name("BOOL");
  return v;
}

po::typed_value<std::string>* choice_value(std::vector<std::string> choices) {
  auto* v = new choice_semantic(std::move(choices));
  v->value_name("NAME");
  return v;
}

po::typed_value<double>* seconds_value() {
  auto* v = new seconds_semantic();
  v->value_name("SECONDS");
  return v;
}

po::typed_value<std::vector<std::string>>* address_list_value() {
  auto* v = new list_semantic(true);
  v->value_name("ADDR");
  return v;
}

po::typed_value<std::vector<std::string>>* string_list_value() { return new list_semantic(false); }

std::uint64_t number(const po::variables_map& vm, const char* name) {
  return vm[name].as<std::uint64_t>();
}

std::vector<std::string> strings(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

std::string text(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::string>() : std::string{};
}

}  // namespace brood::cli
