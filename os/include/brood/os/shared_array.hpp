#pragma once
// A move-only owner of `n` value-initialized objects of T in an anonymous MAP_SHARED mapping: a
// master makes it before it forks, and every process forked afterwards reads and writes the same
// objects. T must work across processes (atomics, plain data); no destructor of T runs.
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "brood/os/status.hpp"

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

  // Empty: no mapping, size() 0.
  shared_array() = default;
  shared_array(shared_array&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(o.size_), bytes_(o.bytes_) {}
  shared_array& operator=(shared_array&& o) noexcept {
    if (this != &o) {
      unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = o.size_;
      bytes_ = o.bytes_;
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

 private:
  void unmap() noexcept {
    if (data_) ::munmap(data_, bytes_);
    data_ = nullptr;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace brood::os
