#pragma once
// Choosing the mounted WSGI app of a request (mount, manage-script-name), as uWSGI does:
//  * without manage-script-name, the app whose mountpoint equals the SCRIPT_NAME var (the web
//    server's), else the default app;
//  * with it, the longest mountpoint that prefixes PATH_INFO at a '/' boundary ("/a" takes
//    "/a" and "/a/x", not "/ab"); SCRIPT_NAME becomes the mountpoint and PATH_INFO the rest.
// Pure: no Python.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace brood::python {

// The index of the mountpoint equal to `script_name`, if any.
std::optional<std::size_t> exact_mount(const std::vector<std::string>& mountpoints,
                                       std::string_view script_name);

// The index of the longest mountpoint that is `path` or a prefix of it followed by '/'.
std::optional<std::size_t> longest_mount(const std::vector<std::string>& mountpoints,
                                         std::string_view path);

}  // namespace brood::python
