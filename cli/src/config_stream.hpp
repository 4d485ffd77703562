#pragma once
// The stream of config entries (environment, command line, ini lines, in order) through uWSGI's
// logic blocks: `if-*` ... `endif` skips or keeps what it encloses, `for*` ... `endfor` repeats
// it once per item, and %(_) inside a block is replaced by what the block binds. Blocks may span
// files and nest (uWSGI 2.0 refuses nesting; brood allows it). Not thread-safe.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config_logic.hpp"

namespace brood::cli {

// The tokens of one value joined by single spaces, as a config file writes them.
std::string joined_tokens(const std::vector<std::string>& tokens);

// One `key = value` as given, in order of appearance.
struct config_entry {
  std::string key;                 // as written
  std::vector<std::string> value;  // the tokens (empty: a bare --flag on the command line)
  std::string where;               // "" on the command line, else "FILE line N" or "environment
                                   // variable UWSGI_X"
  bool from_environment = false;
  bool placeholder = false;  // declared by set-placeholder / set-ph: never an option
};

class config_stream {
 public:
  using sink = std::function<void(config_entry)>;

  // Every entry that is not skipped (the logic lines themselves included) goes to `out`, which
  // may feed() again (an `ini` line feeds the lines of its file).
  config_stream(sink out, logic_context ctx);

  // Throws what the sink throws.
  void feed(config_entry e);

  // At the end of the input. Throws option_error naming the `for` whose `endfor` is missing.
  void finish();

  // for-readline files that could not be read.
  std::vector<std::string> take_warnings() { return std::move(warnings_); }

 private:
  void replay();
  std::string bound() const;
  bool has_binding() const;

  sink out_;
  logic_context ctx_;
  int skip_depth_ = 0;  // > 0: inside a false if-block (counting the if-blocks in it)
  int for_depth_ = 0;   // > 0: collecting the body of a for-block (counting the fors in it)
  config_entry for_line_;
  std::string for_keyword_;
  std::vector<config_entry> for_body_;
  std::vector<std::optional<std::string>> bindings_;  // one per open true if-block or for item
  std::vector<std::string> warnings_;
};

}  // namespace brood::cli
