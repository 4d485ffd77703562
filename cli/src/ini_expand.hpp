#pragma once
// The expansions uWSGI applies to the values of a config file while it reads it: the magic
// variables (%d, %n, %p, ... of that file, see docs/config.md "Config syntax"), $(NAME) from the
// environment and @(path) from a file's contents. Placeholders, %(name), are left alone: they are
// expanded once every option is known (placeholders.hpp).
#include <string>
#include <string_view>
#include <vector>

namespace brood::cli {

// What the magic variables of one config file expand to.
struct magic_context {
  std::string given;                    // %o %O: the path as given
  std::string absolute;                 // %p: the absolute path
  std::string dir;                      // %d: its directory, with a trailing '/'
  std::string file_name;                // %s: the file name
  std::string stem;                     // %n: the file name without its last extension
  std::string extension;                // %e: the last extension, without the '.'
  std::string last_dir;                 // %c: the name of its directory
  std::vector<std::string> components;  // %0..%9: the directory names from the root
  std::string inode;                    // %i
  std::string hash;                     // %j: a hex hash of the absolute path (uWSGI's byte order)
};

// The context of the config file at `path` (made absolute against the working directory).
magic_context magic_for_file(const std::string& path);

// Replaces %X for every magic letter X (%% is '%'; an unknown letter expands to nothing, as in
// uWSGI; "%(" and a trailing '%' are kept).
std::string expand_magic(std::string_view value, const magic_context& magic);

// Replaces $(NAME) with NAME's value in `environment` ("K=V" strings), kept as written when NAME
// is not set, and @(path) with the contents of the file at path (one trailing newline removed).
// Throws option_error "cannot read 'PATH' of @(PATH): REASON" when the file cannot be read.
std::string expand_references(std::string_view value, const std::vector<std::string>& environment);

// NAME's value in `environment`, or nullptr.
const std::string* find_environment(const std::vector<std::string>& environment,
                                    std::string_view name, std::string& storage);

}  // namespace brood::cli
