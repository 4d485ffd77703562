// Running a WSGI application for one uwsgi request and writing its raw HTTP response.
#include "wsgi_handler.hpp"

#include "brood/wire/keepalive_frames.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "brood/node/request_log.hpp"
#include "brood/os/log.hpp"
#include "brood/wire/modifier.hpp"
#include "mounts.hpp"
#include "py_error.hpp"
#include "request_gil.hpp"
#include "start_response.hpp"

namespace brood::python {
namespace {

constexpr std::string_view default_protocol = "HTTP/1.0";
constexpr std::string_view error_tail =
    " 500 Internal Server Error\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n"
    "Internal Server Error";

void append(wire::bytes& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

// The status line's protocol: the last SERVER_PROTOCOL var, else HTTP/1.0 (as uWSGI).
std::string_view protocol_of(const std::vector<wire::var>& vars) {
  std::string_view protocol = default_protocol;
  for (const wire::var& v : vars)
    if (v.key == "SERVER_PROTOCOL" && !v.value.empty()) protocol = v.value;
  return protocol;
}

// uWSGI's answer when the application fails before it produced anything.
node::reply error_reply(std::string_view protocol) {
  node::reply out;
  out.keep_alive = false;
  append(out.data, protocol);
  append(out.data, error_tail);
  return out;
}

node::reply http_reply(std::string_view protocol, const wsgi_response& resp) {
  node::reply out;
  out.keep_alive = false;
  out.data.reserve(protocol.size() + resp.status.size() + resp.headers.size() + resp.body.size() +
                   5);
  append(out.data, protocol);
  out.data.push_back(' ');
  append(out.data, resp.status);
  append(out.data, "\r\n");
  append(out.data, resp.headers);
  append(out.data, "\r\n");
  append(out.data, resp.body);
  return out;
}

// Appends every chunk of the application's result to the body. A bytes result is the body
// itself (as uWSGI outside its strict mode).
void consume(py::handle result, wsgi_response& resp) {
  if (PyBytes_Check(result.ptr())) {
    append_body_chunk(resp, result);
    return;
  }
  py::object it = py::reinterpret_steal<py::object>(PyObject_GetIter(result.ptr()));
  if (!it) throw py::error_already_set();
  while (PyObject* chunk = PyIter_Next(it.ptr())) {
    py::object owned = py::reinterpret_steal<py::object>(chunk);
    append_body_chunk(resp, owned);
  }
  if (PyErr_Occurred()) throw py::error_already_set();
}

// result.close when it has one, else null; looked up without raising AttributeError for the
// usual list result (no exception object made and dropped per request).
py::object close_method(py::handle result) {
  const py::str name("close");
  PyObject* found = nullptr;
#if PY_VERSION_HEX >= 0x030D0000
  const int got = PyObject_GetOptionalAttr(result.ptr(), name.ptr(), &found);
#else
  const int got = _PyObject_LookupAttr(result.ptr(), name.ptr(), &found);
#endif
  if (got < 0) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(found);
}

// Calls result.close() when it has one (PEP 3333); a failure there is only logged.
void close_result(py::handle result) {
  if (!result) return;
  try {
    if (py::object close = close_method(result)) close();
  } catch (const py::error_already_set& e) {
    log_python_error(e, "WSGI close()");
  }
}

std::int64_t unix_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// The request log line of an answer (raw HTTP: status line, headers, blank line, body).
void log_answer(const node::log_config& cfg, const node::request& r,
                const std::vector<wire::var>& vars, const wire::bytes& answer, std::int64_t start) {
  node::request_record rec;
  rec.vars = &vars;
  rec.vars_bytes = r.payload.size();
  rec.start_us = start;
  rec.end_us = unix_us();
  const std::string_view text(reinterpret_cast<const char*>(answer.data()), answer.size());
  const std::size_t head_end = text.find("\r\n\r\n");
  const std::string_view head = text.substr(0, head_end);
  rec.header_bytes = head_end == std::string_view::npos ? text.size() : head_end + 4;
  rec.body_bytes = text.size() - rec.header_bytes;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;
       at = head.find("\r\n", at + 2))
    ++rec.headers;  // one per line after the status line
  const std::size_t space = head.find(' ');
  if (space != std::string_view::npos)
    for (std::size_t i = space + 1; i < head.size() && i < space + 4; ++i)
      if (head[i] >= '0' && head[i] <= '9') rec.status = rec.status * 10 + (head[i] - '0');
  node::log_request(cfg, rec);
}

}  // namespace

void wsgi_handler::set_app(py::object app) { app_ = std::move(app); }

void wsgi_handler::set_mounts(std::vector<std::string> points, std::vector<py::object> apps,
                              bool manage_script_name) {
  if ((!app_ || app_.is_none()) && !apps.empty()) app_ = apps.front();
  mount_points_ = std::move(points);
  mount_apps_ = std::move(apps);
  manage_script_name_ = manage_script_name;
}

py::handle wsgi_handler::choose_app(const std::vector<wire::var>& vars, std::string& script_name,
                                    std::string& path_info) const {
  if (mount_points_.empty()) return app_;
  std::string_view script, path;
  for (const wire::var& v : vars) {
    if (v.key == "SCRIPT_NAME") script = v.value;
    if (v.key == "PATH_INFO") path = v.value;
  }
  if (!manage_script_name_) {
    const auto i = exact_mount(mount_points_, script);
    return i ? py::handle(mount_apps_[*i]) : py::handle(app_);
  }
  const auto i = longest_mount(mount_points_, path);
  if (!i) return app_;
  script_name = mount_points_[*i];
  path_info = std::string(path.substr(script_name.size()));
  return mount_apps_[*i];
}

void wsgi_handler::clear() {
  app_ = py::object();
  mount_apps_.clear();
  environ_.reset();
}

std::optional<node::reply> wsgi_handler::handle(const node::request& r) {
  thread_local std::vector<wire::var> vars;  // scratch, reused by every request of a thread
  if (!wire::decode_vars(r.payload, limits_, vars).is_done()) return std::nullopt;
  const std::int64_t start = unix_us();
  std::optional<node::reply> out;
  {
    request_gil gil;
    out = run_app(r, vars);
  }
  log_answer(log_, r, vars, out->data, start);
  // brood's router asks for a framed answer on a kept connection (docs/protocol.md §6.1).
  if (const wire::var_lookup ka = wire::find_var(vars, wire::keepalive_var);
      ka.found && ka.value == wire::keepalive_value) {
    wire::bytes framed;
    wire::append_keepalive_frames(framed, out->data);
    out->data = std::move(framed);
    out->keep_alive = true;
  }
  return out;
}

node::reply wsgi_handler::run_app(const node::request& r, const std::vector<wire::var>& vars) {
  const std::string_view protocol = protocol_of(vars);
  std::string script_name, path_info;
  py::handle app = choose_app(vars, script_name, path_info);
  if (!app || app.is_none()) {
    os::log("--- no python application found, check your startup logs for errors ---");
    return error_reply(protocol);
  }
  py::object start_response;
  py::object result;
  try {
    if (!environ_) environ_ = std::make_unique<environ_builder>(multithread_);
    const bool strip = r.head.modifier1 == wire::to_byte(wire::modifier1::manage_path_info);
    py::dict env = environ_->build(vars, r.body, strip);
    if (!script_name.empty()) {  // manage-script-name chose a mount
      env["SCRIPT_NAME"] = py::reinterpret_steal<py::object>(PyUnicode_DecodeLatin1(
          script_name.data(), static_cast<Py_ssize_t>(script_name.size()), nullptr));
      env["PATH_INFO"] = py::reinterpret_steal<py::object>(PyUnicode_DecodeLatin1(
          path_info.data(), static_cast<Py_ssize_t>(path_info.size()), nullptr));
    }
    start_response = new_start_response();
    result = app(env, start_response);
    consume(result, response_of(start_response));
    close_result(result);
  } catch (const py::error_already_set& e) {
    log_python_error(e, "WSGI application");
    close_result(result);
    if (!start_response || !response_of(start_response).started ||
        !response_of(start_response).body_started())
      return error_reply(protocol);
  }
  wsgi_response& resp = response_of(start_response);
  if (!resp.started) {
    os::log("WSGI application did not call start_response()");
    return error_reply(protocol);
  }
  return http_reply(protocol, resp);
}

}  // namespace brood::python
