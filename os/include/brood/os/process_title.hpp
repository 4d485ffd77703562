#pragma once
// The process title that `ps` and `top` show: the memory of argv (and of the environment
// strings behind it, whose contents move to the heap) is rewritten, and the kernel's thread name
// (prctl PR_SET_NAME, 15 bytes) is set. Not thread-safe: call from the main thread.
#include <string_view>

namespace brood::os {

// Records argv (call once, from main). Nothing moves until the first set_process_title, which
// copies the environment strings to the heap and replaces `environ` (a pointer kept into the old
// strings would read the title).
// Without it set_process_title only sets the thread name.
void init_process_title(int argc, char** argv);

// Sets the title, truncated to the space argv and the environment had at start.
void set_process_title(std::string_view title);

}  // namespace brood::os
