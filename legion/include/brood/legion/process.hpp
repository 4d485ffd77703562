#pragma once
// The legions of this process, for the code that reports them: the stats JSON of a node master
// or an emperor (their `legions` entry) and, in a node's workers, the Python API. Set by the
// owner (run_node, run_emperor) once its `members` run, cleared before they are destroyed.
// Plain pointers, read-only for everyone else: a worker forked after set_process_legion sees the
// views (shared memory) but must not use the members (their threads live in the master only).
namespace brood::legion {

class members;
class shared_views;

// nullptr when this process runs no legion (or in a worker, for members: see above).
const members* process_members() noexcept;
const shared_views* process_views() noexcept;

// REQUIRES: the process is single-threaded but for the legions' own threads (the owner's start).
void set_process_legion(const members* m, const shared_views* v) noexcept;

}  // namespace brood::legion
