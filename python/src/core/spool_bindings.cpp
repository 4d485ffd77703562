// The native spooler calls of brood._brood: remote and local enqueue, the node's spooler dirs
// and processes, and reading a task file.
#include "spool_bindings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "brood/client/spool.hpp"
#include "brood/os/unique_fd.hpp"
#include "brood/spooler/spooler.hpp"
#include "brood/wire/spool_file.hpp"
#include "errors.hpp"

namespace brood::python {
namespace {

namespace py = pybind11;
using std::chrono::milliseconds;

// The store of this process; set once by the host before Python code runs.
std::shared_ptr<const spooler::spool_store>& local_store() {
  static std::shared_ptr<const spooler::spool_store> store;
  return store;
}

const spooler::spooler_board*& local_board() {
  static const spooler::spooler_board* board = nullptr;
  return board;
}

std::string bytes_of(py::handle o, const char* what) {
  if (!PyBytes_Check(o.ptr()))
    throw py::type_error(std::string(what) + " must be bytes, not '" + Py_TYPE(o.ptr())->tp_name +
                         "'");
  return std::string(PyBytes_AS_STRING(o.ptr()),
                     static_cast<std::size_t>(PyBytes_GET_SIZE(o.ptr())));
}

// A list of (bytes, bytes) pairs, as brood.uwsgi builds it.
wire::spool_vars pairs_arg(py::handle pairs) {
  wire::spool_vars out;
  for (py::handle item : pairs) {
    if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 2)
      throw py::type_error("a task var must be a (key, value) tuple of bytes");
    out.emplace_back(bytes_of(PyTuple_GET_ITEM(item.ptr(), 0), "a task key"),
                     bytes_of(PyTuple_GET_ITEM(item.ptr(), 1), "a task value"));
  }
  return out;
}

milliseconds timeout_arg(double seconds) {
  if (std::isnan(seconds) || seconds <= 0)
    throw py::value_error("timeout must be a positive number of seconds");
  constexpr double longest = 7.0 * 24 * 3600;  // as the other client calls: a week
  return milliseconds(static_cast<long long>(std::ceil(std::min(seconds, longest) * 1000)));
}

bool spool_remote(const std::string& address, py::handle pairs, py::handle body, double timeout) {
  wire::spool_vars vars = pairs_arg(pairs);
  std::string raw = bytes_of(body, "body");
  milliseconds t = timeout_arg(timeout);
  client::result<bool> r = [&] {
    py::gil_scoped_release nogil;
    return client::spool(address, vars, raw, t);
  }();
  if (!r) raise_call_error(r.error(), address);
  return *r;
}

py::str spool_local(py::handle pairs, py::handle body) {
  wire::spool_vars vars = pairs_arg(pairs);
  std::string raw = bytes_of(body, "body");
  std::shared_ptr<const spooler::spool_store> store = local_store();
  if (!store) throw py::value_error("unable to spool job: this process has no spooler");
  spooler::spool_status s = [&] {
    py::gil_scoped_release nogil;  // fsyncs: let other threads run
    return store->enqueue(vars, raw);
  }();
  if (!s) throw py::value_error("unable to spool job: " + s.message);
  return py::str(s.path);
}

py::list spool_dirs() {
  py::list out;
  if (const auto& store = local_store())
    for (const std::string& d : store->dirs()) out.append(py::str(d));
  return out;
}

py::list spooler_board_entries() {
  py::list out;
  const spooler::spooler_board* board = local_board();
  if (board == nullptr) return out;
  for (std::size_t slot = 0; slot < board->size(); ++slot)
    out.append(py::make_tuple(py::str(board->dir(slot)), board->pid(slot)));
  return out;
}

// The whole file, or nullopt when it cannot be opened or read (a missing file is no error here).
std::optional<std::string> read_whole(const std::string& path) {
  os::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string data;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return data;
    data.append(chunk, static_cast<std::size_t>(n));
  }
}

py::object read_spool_file(const std::string& path) {
  std::optional<std::string> data;
  {
    py::gil_scoped_release nogil;
    data = read_whole(path);
  }
  if (!data) return py::none();
  wire::spool_file_view view;
  if (!wire::decode_spool_file(wire::as_bytes(*data), view).is_done()) return py::none();
  py::list pairs;
  for (const wire::var& v : view.vars)
    pairs.append(py::make_tuple(py::bytes(v.key.data(), v.key.size()),
                                py::bytes(v.value.data(), v.value.size())));
  std::string_view body = wire::as_chars(view.body);
  return py::make_tuple(pairs, py::bytes(body.data(), body.size()));
}

}  // namespace

void set_local_spool_store(std::shared_ptr<const spooler::spool_store> store) {
  local_store() = std::move(store);
}

void set_local_spooler_board(const spooler::spooler_board* board) { local_board() = board; }

void define_spool(py::module_& m) {
  m.def("_spool_remote", &spool_remote, py::arg("address"), py::arg("pairs"), py::arg("body"),
        py::arg("timeout"), "Enqueues a task on the remote spooler at address (brood.spool).");
  m.def("_spool_local", &spool_local, py::arg("pairs"), py::arg("body"),
        "Writes a task durably into this node's spooler dirs (uwsgi.spool); returns its path.");
  m.def("_spool_dirs", &spool_dirs, "The spooler dirs this process may write (realpaths).");
  m.def("_spooler_board", &spooler_board_entries,
        "(dir, pid) of every spooler process of this node; pid 0 when it is not running.");
  m.def("_read_spool_file", &read_spool_file, py::arg("path"),
        "(vars as (key, value) bytes pairs, body) of a task file, or None.");
}

}  // namespace brood::python
