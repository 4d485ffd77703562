// Building the WSGI environ from a vars block.
#include "environ.hpp"

#include <strings.h>

#include <utility>

#include "interpreter.hpp"

namespace brood::python {
namespace {

constexpr std::size_t max_cached_keys = 512;

py::object interned(std::string_view s) {
  PyObject* o = PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
  if (!o) throw py::error_already_set();
  PyUnicode_InternInPlace(&o);
  return py::reinterpret_steal<py::object>(o);
}

// The keys nginx's uwsgi_params sends, with the CGI names a WSGI request usually carries.
constexpr std::string_view usual_keys[] = {
    "QUERY_STRING",
    "REQUEST_METHOD",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "REQUEST_URI",
    "PATH_INFO",
    "DOCUMENT_ROOT",
    "SERVER_PROTOCOL",
    "REQUEST_SCHEME",
    "HTTPS",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "SERVER_PORT",
    "SERVER_NAME",
    "SCRIPT_NAME",
    "UWSGI_SCHEME",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_CONNECTION",
    "HTTP_COOKIE",
    "HTTP_REFERER",
    "HTTP_CACHE_CONTROL",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_REAL_IP",
};

py::object latin1(std::string_view s) {
  PyObject* o = PyUnicode_DecodeLatin1(s.data(), static_cast<Py_ssize_t>(s.size()), nullptr);
  if (!o) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

void set_item(py::dict& d, py::handle k, py::handle v) {
  if (PyDict_SetItem(d.ptr(), k.ptr(), v.ptr()) != 0) throw py::error_already_set();
}

// HTTPS as uWSGI reads it: "on" (any case) or a value starting with '1'.
bool https_on(std::string_view v) {
  return (v.size() >= 2 && ::strncasecmp(v.data(), "on", 2) == 0) || (!v.empty() && v[0] == '1');
}

// True when `path` is `mount` or lies below it ("/app" holds "/app" and "/app/x", not "/apple").
bool mounted_under(std::string_view path, std::string_view mount) {
  if (mount.empty() || path.substr(0, mount.size()) != mount) return false;
  return path.size() == mount.size() || path[mount.size()] == '/' || mount.back() == '/';
}

}  // namespace

environ_builder::environ_builder(bool multithread)
    : bytes_io_(imported_module("io").attr("BytesIO")),
      version_(py::make_tuple(1, 0)),
      http_(interned("http")),
      https_(interned("https")),
      k_input_(interned("wsgi.input")),
      k_errors_(interned("wsgi.errors")),
      k_version_(interned("wsgi.version")),
      k_scheme_(interned("wsgi.url_scheme")),
      k_multithread_(interned("wsgi.multithread")),
      k_multiprocess_(interned("wsgi.multiprocess")),
      k_run_once_(interned("wsgi.run_once")),
      k_path_info_(interned("PATH_INFO")),
      multithread_(multithread) {}

py::handle environ_builder::key(std::string_view k) {
  if (auto it = keys_.find(k); it != keys_.end()) return it->second;
  if (keys_.size() >= max_cached_keys) keys_.clear();
  return keys_.emplace(std::string(k), interned(k)).first->second;
}

void environ_builder::prime() {
  for (std::string_view k : usual_keys) key(k);
}

py::dict environ_builder::build(const std::vector<wire::var>& vars, wire::bytes_view body,
                                bool strip_script_name) {
  py::dict env;
  std::string_view script_name, path_info, scheme, https;
  bool have_path_info = false;
  for (const wire::var& v : vars) {
    set_item(env, key(v.key), latin1(v.value));
    if (v.key == "SCRIPT_NAME")
      script_name = v.value;
    else if (v.key == "PATH_INFO")
      path_info = v.value, have_path_info = true;
    else if (v.key == "UWSGI_SCHEME")
      scheme = v.value;
    else if (v.key == "HTTPS")
      https = v.value;
  }
  if (strip_script_name && have_path_info && mounted_under(path_info, script_name))
    set_item(env, k_path_info_, latin1(path_info.substr(script_name.size())));
  if (scheme.empty()) scheme = https_on(https) ? "https" : "http";
  add_wsgi_keys(env, body, scheme);
  return env;
}

void environ_builder::add_wsgi_keys(py::dict& env, wire::bytes_view body, std::string_view scheme) {
  py::object input =
      body.empty() ? bytes_io_() : bytes_io_(py::bytes(wire::as_chars(body).data(), body.size()));
  set_item(env, k_input_, input);
  PyObject* err = PySys_GetObject("stderr");  // borrowed
  set_item(env, k_errors_, err ? py::handle(err) : py::handle(Py_None));
  set_item(env, k_version_, version_);
  if (scheme == "http")
    set_item(env, k_scheme_, http_);
  else if (scheme == "https")
    set_item(env, k_scheme_, https_);
  else
    set_item(env, k_scheme_, latin1(scheme));
  set_item(env, k_multithread_, multithread_ ? Py_True : Py_False);
  set_item(env, k_multiprocess_, Py_True);
  set_item(env, k_run_once_, Py_False);
}

}  // namespace brood::python
