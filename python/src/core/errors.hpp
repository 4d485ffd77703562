#pragma once
// The exception classes of module `brood` and the mapping of a client call_error to them:
//   Error(Exception)                                      every brood failure
//   TimeoutError(Error, builtins.TimeoutError)            call_errc::timeout
//   ConnectionError(Error, builtins.ConnectionError)      call_errc::io (and canceled calls)
//   ConnectionRefusedError(ConnectionError, builtins.ConnectionRefusedError)   call_errc::refused
//   ProtocolError(Error)                                  call_errc::protocol
//   RemoteError(Error)                                    call_errc::remote: .type, .message
//   RequestError(Error, ValueError)                       call_errc::bad_request
// Every instance has .address (the address as the caller wrote it).
// REQUIRES: the GIL is held for every function here.
#include <pybind11/pybind11.h>

#include <string_view>

#include "brood/client/call_error.hpp"

namespace brood::python {

// Creates the classes and adds them to `m`. The classes live until the process ends.
void define_errors(pybind11::module_& m);

// The exception instance describing `e` for a call to `address` (not raised).
pybind11::object error_object(const client::call_error& e, std::string_view address);

// Raises that exception: sets the Python error and throws pybind11::error_already_set.
[[noreturn]] void raise_call_error(const client::call_error& e, std::string_view address);

}  // namespace brood::python
