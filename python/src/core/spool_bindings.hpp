#pragma once
// The spooler functions of module `brood._brood` (docs/uwsgi-compat.md §3, docs/spool_format.md).
// The Python layer (brood.spool, brood.uwsgi.spool, ...) converts dicts to (bytes, bytes) pairs
// and calls these; they do the I/O:
//   _spool_remote(address, pairs, body, timeout) -> True    modifier1 17 onto a remote spooler;
//                        raises the brood.Error of the failure (RemoteError, type
//                        "SpoolerRefused", when the spooler answers FF 00 00 00)
//   _spool_local(pairs, body) -> str                        durable write into this node's
//                        spooler dirs (the `spooler`, `priority`, `at` vars honoured); the task
//                        file's path. ValueError "unable to spool job: <why>" on failure
//   _spool_dirs() -> list[str]                              the dirs _spool_local may write
//                        (spooler dirs, then spooler-external dirs), [] outside such a node
//   _spooler_board() -> list[(dir, pid)]                    one entry per spooler process of
//                        this node (pid 0: not running), [] when it has none
//   _read_spool_file(path) -> (pairs, body) or None         a task file decoded (brood's
//                        checksum var left out); None when it cannot be read or decoded
#include <memory>

#include <pybind11/pybind11.h>

#include "brood/spooler/spool_store.hpp"
#include "brood/spooler/spooler.hpp"

namespace brood::python {

// REQUIRES: define_errors(m) ran first.
void define_spool(pybind11::module_& m);

// The store _spool_local writes with in this process (null: none, the default). Set by the node
// host before the application loads; forked children inherit it. Not thread-safe: call it
// before any Python thread may spool.
void set_local_spool_store(std::shared_ptr<const spooler::spool_store> store);

// The board _spooler_board() reads (null: none, the default), given by the node's master through
// node_hooks::spooler_board before it forks; forked children inherit it. Not thread-safe (the
// master is single-threaded when it calls it).
void set_local_spooler_board(const spooler::spooler_board* board);

}  // namespace brood::python
