#pragma once
// Pages written ahead by the fork server's workers-to-be (brood/node/fork_server.hpp). The first
// adopted vassal's worker 1 that was a worker-to-be records, after its first request, the pages
// it owns alone (os::exclusive_pages: those it wrote since it was forked from the base, on its
// way to that answer and in its rehearsal before it); every later worker-to-be writes those pages
// ahead before it announces itself ready, so that an adopted worker takes their copy-on-write
// faults before the request instead of between it and its first answer. The same for the
// masters: the first adopted master records its pages once it handed its sockets to its worker,
// and later spares write them ahead; and for the base itself, whose every fork of a spare shares
// its pages again, so that handing a request would copy the pages it writes on the way. No user
// code runs for it, and a worker-to-be (a spare) ends up owning the pages an adopted worker
// (master) owns once it answered (handed over).
//
// The list lives in one area shared (MAP_SHARED | MAP_ANONYMOUS) by the base and every process
// forked from it, created by the base before its first spare: recorded once per base process (a
// reloaded base learns again), read by every worker-to-be after that. Single-threaded callers.
namespace brood::node::written_ahead {

enum class role { base, master, worker };

// In the base, before it forks its first spare. Logs and does nothing more when the area cannot
// be mapped (the workers-to-be then write nothing ahead).
void open_area();

// In a spare (role::master) or a worker-to-be (role::worker) before it announces itself ready,
// in the base (role::base) once it forked a spare: writes ahead the pages recorded for that role
// (none before they were recorded).
void write_ahead_recorded(role r);

// In the pre-forked worker once it serves an adopted vassal: it may record (record_once).
void may_record();

// After this worker's first request: records its pages when it may and no process of this base
// recorded them before (the first to try does); then unmaps the area (close_area).
void record_once();

// In an adopted master once it handed its sockets to its pre-forked worker: records its pages
// unless a master of this base did before; then unmaps the area.
void record_master_once();

// Unmaps the area in this process (an adopted master that forks its worker 1 itself has no use
// for it); nothing when it has none.
void close_area();

// In the base once it handed its first request to a spare: records the pages it wrote since it
// forked that spare (its fork shared them all again), which it writes ahead after each fork of a
// spare from then on.
void record_base_once();

}  // namespace brood::node::written_ahead
