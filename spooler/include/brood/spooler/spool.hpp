#pragma once
// The spooler's task model, shared by the store (writers), the spooler processes (runners) and
// hosts (the Python layer). docs/uwsgi-compat.md §3, docs/spool_format.md.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "brood/wire/spool_file.hpp"

namespace brood::spooler {

// What a task handler returns (uWSGI's numbers, exposed to Python as SPOOL_*).
enum class spool_result : int {
  ok = -2,     // done: the task file is deleted
  retry = -1,  // run it again later (backoff; counted as a failed attempt)
  ignore = 0,  // not mine: the file is kept and looked at again at the next full scan
};
// Any other int a handler returns counts as retry (as uWSGI).
spool_result classify_spool_result(int handler_return) noexcept;

// The spool request keys and the owned vars list, defined with the spool file (wire).
using wire::spool_key_at;
using wire::spool_key_attempt;
using wire::spool_key_body;
using wire::spool_key_last_error;
using wire::spool_key_priority;
using wire::spool_key_spooler;
using wire::spool_vars;

// One task as a handler sees it.
struct spool_task {
  std::string path;      // absolute path of the task file
  std::string name;      // its file name (uWSGI's spooler_task_name)
  std::string dir;       // the spooler dir it belongs to (realpath, no trailing slash)
  spool_vars vars;       // every var in file order (brood_checksum left out)
  std::string body;      // the raw body (may be empty)
  unsigned attempt = 1;  // 1 on the first run; brood_attempt on later ones
};

// Runs one task in a spooler process; returns a spool_result number (any int). A thrown
// exception counts as retry, its what() recorded as the task's last error.
using spool_handler = std::function<int(const spool_task&)>;

}  // namespace brood::spooler
