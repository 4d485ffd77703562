#pragma once
// The fork server attributes of a vassal file (docs/uwsgi-compat.md §17.2), read by the monitor.
// Internal to the emperor module.
#include <string>

#include "brood/emperor/monitor.hpp"

namespace brood::emperor {

// The value of `key` in `section` of the ini text (the first occurrence; "" when absent). Lines
// are `[section]`, `key = value` (spaces around both trimmed, one pair of surrounding quotes
// removed) and comments starting with ';' or '#'. No placeholders are expanded.
std::string ini_value(const std::string& text, const std::string& section, const std::string& key);
// True when `text` (an ini file) has a `[section]` header.
bool ini_has_section(const std::string& text, const std::string& section);

// Fills file.fork_server (`attr` of the [emperor] section; nothing when `attr` is "") and
// file.serves (`fork-server`, else `fork-socket`, of the [uwsgi] section) from file.path when it
// is an .ini file of at most 1 MiB; both "" otherwise or when it cannot be read.
void read_fork_attrs(const std::string& attr, vassal_file& file);

}  // namespace brood::emperor
