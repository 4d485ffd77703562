#pragma once
// temp_dir: the one owner of a test's scratch directory. It makes a fresh, empty, private (0700)
// directory /tmp/<prefix>XXXXXX (mkdtemp) and removes it, with everything in it, when it goes.
// Always under /tmp, not $TMPDIR, so that unix socket paths inside it stay short. Move-only. Any
// thread may read path() while no thread moves or destroys the owner.
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace brood::testing {

class temp_dir {
 public:
  // Makes the directory; `prefix` names its creator in a listing of /tmp (e.g. "brood_monitor_").
  // Throws std::system_error if it cannot (GoogleTest reports that as the test's failure).
  explicit temp_dir(std::string_view prefix) {
    std::string tmpl = "/tmp/" + std::string(prefix) + "XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    }
    std::error_code ec;
    std::filesystem::path real = std::filesystem::canonical(tmpl, ec);
    path_ = ec ? tmpl : real.string();
  }
  // Removes the directory recursively; errors (it is already gone, say) are ignored. REQUIRES:
  // nothing is mounted inside it any more and no process still writes there.
  ~temp_dir() { remove(); }

  temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  // Removes this directory, then takes over `other`'s.
  temp_dir& operator=(temp_dir&& other) noexcept {
    if (this != &other) {
      remove();
      path_ = std::exchange(other.path_, {});
    }
    return *this;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  // The directory: absolute, canonical (so it compares equal to paths the code under test
  // resolves), without a trailing '/'. Empty once moved from.
  const std::string& path() const noexcept { return path_; }
  // path() + "/" + name: a path inside the directory (nothing is created).
  std::string operator/(std::string_view name) const {
    std::string out = path_;
    out += '/';
    out += name;
    return out;
  }

 private:
  void remove() noexcept {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
    path_.clear();
  }

  std::string path_;
};

}  // namespace brood::testing
