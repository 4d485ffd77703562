#pragma once
// uWSGI's placeholders: every `key = value` (an option or not) defines %(key), which is replaced
// once every entry is read, so a value may use a key given later, in another file, on the
// command line or in a UWSGI_* variable.
#include <vector>

#include "config_stream.hpp"

namespace brood::cli {

// Replaces %(name) in every value by the value of the FIRST entry whose key is `name`, in
// order and in place, pass after pass until nothing changes (at most 8 passes, as a chain of
// placeholders resolves one link per pass at least). A name no entry has is kept as written, as
// is a value that would grow past 1 MiB.
void expand_placeholders(std::vector<config_entry>& entries);

}  // namespace brood::cli
