#pragma once
// A move-only owner of `n` value-initialized objects of T in an anonymous MAP_SHARED mapping: a
// master makes it before it forks, and every process forked afterwards reads and writes the same
// objects. T must work across processes (atomics, plain data); no destructor of T runs.
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "brood/os/status.hpp"
#include "brood/os/unique_fd.hpp"

namespace brood::os {

template <class T>
class shared_array {
 public:
  // Maps `n` objects. `what` names them in the error ("cannot map WHAT: <strerror>").
  static result<shared_array> open(std::size_t n, std::string_view what) {
    const std::size_t bytes = std::max<std::size_t>(1, n) * sizeof(T);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return status::last_errno("cannot map " + std::string(what));
    shared_array out;
    out.data_ = static_cast<T*>(p);
    out.size_ = n;
    out.bytes_ = bytes;
    for (std::size_t i = 0; i < n; ++i) new (&out.data_[i]) T();
    return out;
  }

  // The same over a memfd (close-on-exec) kept open, so that another process can map the same
  // objects (fd(), attach): a process that was not forked from the maker (the fork server's
  // pre-forked worker). Errors: memfd_create's, ftruncate's, mmap's.
  static result<shared_array> open_passable(std::size_t n, std::string_view what) {
    const std::size_t bytes = std::max<std::size_t>(1, n) * sizeof(T);
    unique_fd fd(::memfd_create(std::string(what).c_str(), MFD_CLOEXEC));
    if (!fd) return status::last_errno("cannot make a memfd for " + std::string(what));
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0)
      return status::last_errno("cannot size the memfd of " + std::string(what));
    auto out = map(fd.get(), n, what);
    if (!out) return out;
    for (std::size_t i = 0; i < n; ++i) new (&out->data_[i]) T();
    out->fd_ = std::move(fd);
    return out;
  }
  // Maps the `n` objects another process made with open_passable (its fd() passed here); they
  // are not initialized again. Errors: mmap's, or EINVAL when the memfd is too small.
  static result<shared_array> attach(unique_fd fd, std::size_t n, std::string_view what) {
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return status::last_errno("cannot stat " + std::string(what));
    if (static_cast<std::size_t>(st.st_size) < std::max<std::size_t>(1, n) * sizeof(T))
      return status(std::make_error_code(std::errc::invalid_argument),
                    "the memfd of " + std::string(what) + " is too small");
    auto out = map(fd.get(), n, what);
    if (out) out->fd_ = std::move(fd);
    return out;
  }

  // Empty: no mapping, size() 0.
  shared_array() = default;
  shared_array(shared_array&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(o.size_),
        bytes_(o.bytes_),
        fd_(std::move(o.fd_)) {}
  shared_array& operator=(shared_array&& o) noexcept {
    if (this != &o) {
      unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = o.size_;
      bytes_ = o.bytes_;
      fd_ = std::move(o.fd_);
    }
    return *this;
  }
  shared_array(const shared_array&) = delete;
  shared_array& operator=(const shared_array&) = delete;
  ~shared_array() { unmap(); }

  explicit operator bool() const noexcept { return data_ != nullptr; }
  std::size_t size() const noexcept { return size_; }
  // REQUIRES: i < size().
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  // The memfd of an open_passable or attached array; -1 for an anonymous one.
  int fd() const noexcept { return fd_.get(); }

 private:
  static result<shared_array> map(int fd, std::size_t n, std::string_view what) {
    const std::size_t bytes = std::max<std::size_t>(1, n) * sizeof(T);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return status::last_errno("cannot map " + std::string(what));
    shared_array out;
    out.data_ = static_cast<T*>(p);
    out.size_ = n;
    out.bytes_ = bytes;
    return out;
  }

  void unmap() noexcept {
    if (data_) ::munmap(data_, bytes_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
  unique_fd fd_;
};

}  // namespace brood::os
