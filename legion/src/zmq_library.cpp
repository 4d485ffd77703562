// libzmq, loaded on first use. brood does not link libzmq: it and the 12 shared libraries it
// brings (sodium, gssapi/krb5, pgm, norm, bsd, ...) cost every brood process ~7 ms of CPU at
// start (the dynamic loader maps and relocates them), while only a legion member uses ZeroMQ
// (issue 18: a vassal's start cost). The ZeroMQ C functions that the legion's cppzmq code calls
// are defined here: the first call of any of them dlopens libzmq.so.5 (once, thread-safe) and
// each forwards to the real function found in that library (dlsym on its handle, so a program
// that links libzmq as well, like the legion tests, reaches the same library).
//
// If libzmq cannot be loaded, one line says why (dlerror) and every call fails as ZeroMQ calls
// fail: -1 or nullptr with errno = ELIBACC (cppzmq throws zmq::error_t, whose text is
// strerror's "Can not access a needed shared library").
// REQUIRES (maintenance): a zmq_* function newly used by the legion must be added below; `brood`
// fails to link with an undefined reference until it is.
#include <dlfcn.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>

#include "brood/os/log.hpp"

namespace {

constexpr const char* zmq_soname = "libzmq.so.5";

void* zmq_handle() {
  static void* const handle = [] {
    void* h = ::dlopen(zmq_soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = ::dlerror();
      brood::os::log("legion: cannot load ", zmq_soname, ": ", why ? why : "unknown error");
    }
    return h;
  }();
  return handle;
}

// The real `name` in libzmq, or nullptr (errno = ELIBACC) when libzmq or the symbol is missing.
template <typename Fn>
Fn zmq_function(const char* name) {
  void* handle = zmq_handle();
  void* sym = handle ? ::dlsym(handle, name) : nullptr;
  if (handle && !sym) brood::os::log("legion: ", zmq_soname, " has no ", name);
  return reinterpret_cast<Fn>(sym);
}

}  // namespace

// One forwarder: resolves the real function on its first call (a function-local static: once,
// thread-safe) and calls it; FAIL is returned when it is missing.
#define BROOD_ZMQ_FORWARD(RET, NAME, PARAMS, ARGS, FAIL)      \
  extern "C" RET NAME PARAMS {                                \
    using fn_type = RET(*) PARAMS;                            \
    static const fn_type real = zmq_function<fn_type>(#NAME); \
    if (!real) {                                              \
      errno = ELIBACC;                                        \
      return FAIL;                                            \
    }                                                         \
    return real ARGS;                                         \
  }

BROOD_ZMQ_FORWARD(void*, zmq_ctx_new, (), (), nullptr)
BROOD_ZMQ_FORWARD(int, zmq_ctx_set, (void* c, int o, int v), (c, o, v), -1)
BROOD_ZMQ_FORWARD(int, zmq_ctx_term, (void* c), (c), -1)
BROOD_ZMQ_FORWARD(void*, zmq_socket, (void* c, int type), (c, type), nullptr)
BROOD_ZMQ_FORWARD(int, zmq_close, (void* s), (s), -1)
BROOD_ZMQ_FORWARD(int, zmq_setsockopt, (void* s, int o, const void* v, size_t n), (s, o, v, n), -1)
BROOD_ZMQ_FORWARD(int, zmq_bind, (void* s, const char* a), (s, a), -1)
BROOD_ZMQ_FORWARD(int, zmq_connect, (void* s, const char* a), (s, a), -1)
BROOD_ZMQ_FORWARD(int, zmq_send, (void* s, const void* b, size_t n, int f), (s, b, n, f), -1)
BROOD_ZMQ_FORWARD(int, zmq_socket_monitor, (void* s, const char* a, int e), (s, a, e), -1)
BROOD_ZMQ_FORWARD(int, zmq_poll, (zmq_pollitem_t * items, int n, long t), (items, n, t), -1)
BROOD_ZMQ_FORWARD(int, zmq_msg_init, (zmq_msg_t * m), (m), -1)
BROOD_ZMQ_FORWARD(int, zmq_msg_recv, (zmq_msg_t * m, void* s, int f), (m, s, f), -1)
BROOD_ZMQ_FORWARD(int, zmq_msg_close, (zmq_msg_t * m), (m), -1)
BROOD_ZMQ_FORWARD(void*, zmq_msg_data, (zmq_msg_t * m), (m), nullptr)
BROOD_ZMQ_FORWARD(size_t, zmq_msg_size, (const zmq_msg_t* m), (m), 0)
BROOD_ZMQ_FORWARD(int, zmq_msg_more, (const zmq_msg_t* m), (m), 0)
BROOD_ZMQ_FORWARD(const char*, zmq_msg_gets, (const zmq_msg_t* m, const char* p), (m, p), nullptr)

#undef BROOD_ZMQ_FORWARD

// The error of the calling thread's last ZeroMQ call: libzmq keeps it in errno.
extern "C" int zmq_errno() { return errno; }

extern "C" const char* zmq_strerror(int errnum) {
  using fn_type = const char* (*)(int);
  static const fn_type real = zmq_handle() ? zmq_function<fn_type>("zmq_strerror") : nullptr;
  return real ? real(errnum) : std::strerror(errnum);
}
