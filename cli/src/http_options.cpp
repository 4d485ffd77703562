#include "http_options.hpp"

#include <chrono>
#include <string>
#include <vector>

#include "option_values.hpp"

namespace brood::cli {
namespace {

// http-keepalive: a bare flag or true/yes/on (on), false/no/off/0 (off), N > 1 (on, idle
// connections closed after N s).
void apply_keepalive(const std::string& value, node::http_config& http) {
  if (value.empty() || value == "true" || value == "yes" || value == "on" || value == "1") return;
  if (value == "false" || value == "no" || value == "off" || value == "0") {
    http.keepalive = false;
    return;
  }
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9' || n > max_seconds)
      throw option_error("invalid value '" + value +
                         "' for option '--http-keepalive': must be a flag or a number of seconds");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  http.keepalive_timeout = std::chrono::seconds(n);
}

// static-map /mountpoint=/dir
node::static_mapping parse_mapping(const std::string& value, bool keep_mountpoint) {
  const auto eq = value.find('=');
  const char* name = keep_mountpoint ? "static-map2" : "static-map";
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
    throw option_error("invalid value '" + value + "' for option '--" + name +
                       "': must be MOUNTPOINT=DIR");
  node::static_mapping m{value.substr(0, eq), value.substr(eq + 1), keep_mountpoint};
  while (m.dir.size() > 1 && m.dir.back() == '/') m.dir.pop_back();
  return m;
}

// https ADDR,CERT,KEY[,CIPHERS[,CA]]: uWSGI's form; brood uses the first three.
node::https_socket parse_https(const std::string& value) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = value.find(',', start);
    parts.push_back(value.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (parts.size() < 3 || parts[0].empty() || parts[1].empty() || parts[2].empty())
    throw option_error("invalid value '" + value + "' for option '--https': must be ADDR,CERT,KEY");
  return {parts[0], parts[1], parts[2]};
}

}  // namespace

po::options_description http_option_group(unsigned help_width) {
  po::options_description group("HTTP sockets", help_width, help_width / 2);
  group.add_options()  //
      ("http-socket", address_list_value()->value_name("ADDR"),
       "the workers speak HTTP/1.1 (with keep-alive) on ADDR; repeatable")(
          "http11-socket", address_list_value()->value_name("ADDR"), "same as --http-socket")(
          "http", address_list_value()->value_name("ADDR"),
          "serve HTTP on ADDR (the workers answer it, as --http-socket; no router process)")(
          "https", string_list_value()->value_name("ADDR,CERT,KEY"),
          "serve HTTPS on ADDR with the PEM certificate chain CERT and private key KEY (the "
          "workers terminate TLS); repeatable")(
          "http-keepalive", po::value<std::string>()->implicit_value("1")->value_name("[N]"),
          "keep HTTP connections alive between requests (default on; 0 turns it off; N > 1: "
          "close idle connections after N seconds)")(
          "http-timeout", uint_value(1, max_seconds)->default_value(60)->value_name("SECONDS"),
          "an HTTP request must arrive and its reply be taken within this")(
          "http-auto-chunked", flag_value(),
          "send a reply without Content-Length to an HTTP/1.1 request chunked")(
          "post-buffering", uint_value(0, UINT64_MAX)->default_value(0)->value_name("BYTES"),
          "accepted for uWSGI configs: brood always buffers request bodies")(
          "add-header", string_list_value()->value_name("HEADER"),
          "add \"Name: value\" to every HTTP reply; repeatable")(
          "static-map", string_list_value()->value_name("MOUNT=DIR"),
          "serve the files under DIR for paths starting with MOUNT (without MOUNT); repeatable")(
          "static-map2", string_list_value()->value_name("MOUNT=DIR"),
          "as static-map, but DIR + the whole path; repeatable");
  return group;
}

void apply_http_options(const po::variables_map& vm, node::node_config& cfg) {
  node::http_config& http = cfg.http;
  for (const char* name : {"http-socket", "http11-socket", "http"})
    for (std::string& a : strings(vm, name)) http.sockets.push_back(std::move(a));
  for (const std::string& v : strings(vm, "https")) http.https.push_back(parse_https(v));
  http.timeout = std::chrono::seconds(number(vm, "http-timeout"));
  http.keepalive_timeout = http.timeout;
  if (vm.count("http-keepalive")) apply_keepalive(vm["http-keepalive"].as<std::string>(), http);
  http.auto_chunked = vm["http-auto-chunked"].as<bool>();
  http.post_buffering = number(vm, "post-buffering");
  http.add_headers = strings(vm, "add-header");
  for (const std::string& v : strings(vm, "static-map"))
    http.static_maps.push_back(parse_mapping(v, false));
  for (const std::string& v : strings(vm, "static-map2"))
    http.static_maps.push_back(parse_mapping(v, true));
}

}  // namespace brood::cli
