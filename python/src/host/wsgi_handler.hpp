#pragma once
// The WSGI application behind modifier1 0 and 30 (PEP 3333), answering with a raw HTTP response
// as uWSGI writes it (docs/protocol.md §8):
//   "<SERVER_PROTOCOL or HTTP/1.0> <status>\r\n" + "Name: value\r\n"... + "\r\n" + body
// and then closing the connection. A request carrying BROOD_KEEPALIVE=1 (brood's router, to a node
// that subscribed with keepalive=1: docs/protocol.md §6.1) gets that answer framed in
// `[u32 LE length][bytes]` chunks ending with a zero-length chunk, and the connection stays open.
// An application that fails before producing body bytes (or that is missing) gets uWSGI's 500
// response; its traceback goes to the log. A failure after body bytes were produced sends what
// was produced, as uWSGI does.
// Thread-safe for handle(): a worker with threads calls it from each of its cores (the Python
// part runs under the GIL).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>

#include "brood/node/log_config.hpp"
#include "brood/node/router.hpp"
#include "brood/wire/limits.hpp"
#include "brood/wire/vars.hpp"
#include "environ.hpp"

namespace brood::python {

namespace py = pybind11;

// Hidden like the pybind11 objects it holds (the library is built with default visibility).
class __attribute__((visibility("hidden"))) wsgi_handler {
 public:
  explicit wsgi_handler(wire::limits lim) : limits_(lim) {}

  // The callable to serve; None: no application (every request gets the 500 answer).
  // REQUIRES: the GIL is held.
  void set_app(py::object app);
  // mount: the apps per mountpoint (mounts.hpp); the default app becomes the first mount's when
  // set_app gave none. REQUIRES: the GIL is held; same sizes.
  void set_mounts(std::vector<std::string> points, std::vector<py::object> apps,
                  bool manage_script_name);
  // Drops the Python objects. REQUIRES: the GIL is held.
  void clear();
  // wsgi.multithread for the requests to come. REQUIRES: before the first request.
  void set_multithread(bool on) { multithread_ = on; }
  // The request log of the requests to come (node/request_log.hpp). REQUIRES: before the first
  // request.
  void set_request_log(const node::log_config& cfg) { log_ = cfg; }

  // Answers one request; takes the GIL. nullopt for a vars block that does not decode.
  std::optional<node::reply> handle(const node::request& r);

 private:
  node::reply run_app(const node::request& r, const std::vector<wire::var>& vars);
  // The app for this request (mounts.hpp) and, with manage-script-name and a mount found, the
  // SCRIPT_NAME and PATH_INFO it gets.
  py::handle choose_app(const std::vector<wire::var>& vars, std::string& script_name,
                        std::string& path_info) const;

  wire::limits limits_;
  py::object app_;
  std::vector<std::string> mount_points_;  // mount: index by index with mount_apps_
  std::vector<py::object> mount_apps_;
  bool manage_script_name_ = false;
  std::unique_ptr<environ_builder> environ_;  // created with the first request (needs the GIL)
  bool multithread_ = false;
  node::log_config log_;
};

}  // namespace brood::python
