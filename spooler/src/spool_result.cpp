// classify_spool_result (spool.hpp) and the "brood.spool" error category (spool_store.hpp).
#include "brood/spooler/spool.hpp"
#include "brood/spooler/spool_store.hpp"

namespace brood::spooler {
namespace {

class spool_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "brood.spool"; }
  std::string message(int ev) const override {
    switch (static_cast<spool_errc>(ev)) {
      case spool_errc::no_spooler:
        return "this node has no spooler";
      case spool_errc::unknown_spooler:
        return "unknown spooler";
      case spool_errc::bad_request:
        return "malformed spool request";
      case spool_errc::too_big:
        return "spool vars block over 65535 bytes (use the body for bigger values)";
      case spool_errc::write_failed:
        return "cannot write the spool file";
    }
    return "unknown spool error";
  }
};

}  // namespace

spool_result classify_spool_result(int handler_return) noexcept {
  switch (handler_return) {
    case static_cast<int>(spool_result::ok):
      return spool_result::ok;
    case static_cast<int>(spool_result::ignore):
      return spool_result::ignore;
    default:
      return spool_result::retry;  // retry itself and any other number, as uWSGI
  }
}

const std::error_category& spool_category() noexcept {
  static const spool_category_impl category;
  return category;
}

std::error_code make_error_code(spool_errc e) noexcept {
  return {static_cast<int>(e), spool_category()};
}

}  // namespace brood::spooler
