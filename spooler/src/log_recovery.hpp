#pragma once
// Recovery of task log slots (docs/spool_format.md, "The task log", recovery rules).
// REQUIRES: the caller holds the lock of every slot in `slots` (no writer appends to them).
//   1. Every segment of the dir is read; the done records of all of them (any slot, clean or
//      not) name the tasks that ran.
//   2. A file named by a done record that is there again (its unlink was lost) is removed.
//      Each task record of a non-clean segment of `slots` with no done record whose file is
//      missing, torn or not decoding is written again from the record.
//   3. sync_fs makes it all durable, then each non-clean segment of `slots` is marked clean.
// A torn or stale tail ends a segment's scan and is reported with a log line (it was never
// acknowledged). Safe to repeat after a cut at any point (nothing is marked clean before 3).
#include <string>
#include <vector>

#include "log_env.hpp"

namespace brood::spooler::tasklog {

struct recovery_report {
  std::size_t segments_recovered = 0;  // non-clean segments of `slots` marked clean
  std::size_t tasks = 0;               // task records replayed
  std::size_t materialized = 0;        // files written again from their record
  std::size_t removed = 0;             // files of done tasks removed
  std::size_t torn_tails = 0;          // scans ended by a torn or stale record
};

os::result<recovery_report> recover_slots(log_env& env, const std::string& spool_dir,
                                          const std::vector<int>& slots);

}  // namespace brood::spooler::tasklog
