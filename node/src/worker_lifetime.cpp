// The request summary of harakiri's log line (worker_lifetime.hpp).
#include "worker_lifetime.hpp"

#include "brood/wire/modifier.hpp"

namespace brood::node::detail {

std::string summarize_request(const request& rq, const wire::limits& lim,
                              std::vector<wire::var>& scratch) {
  std::string out;
  if (rq.head.modifier1 == wire::to_byte(wire::modifier1::wsgi) &&
      wire::decode_vars(rq.payload, lim, scratch).is_done()) {
    const auto remote = wire::find_var(scratch, "REMOTE_ADDR");
    out.append(remote.found ? remote.value : rq.peer);
    out.append(" - ");
    out.append(wire::find_var(scratch, "REQUEST_METHOD").value);
    out.push_back(' ');
    const auto uri = wire::find_var(scratch, "REQUEST_URI");
    if (uri.found) {
      out.append(uri.value);
    } else {
      out.append(wire::find_var(scratch, "PATH_INFO").value);
      const auto query = wire::find_var(scratch, "QUERY_STRING");
      if (!query.value.empty()) out.append("?").append(query.value);
    }
    return out;
  }
  out.append(rq.peer);
  out.append(" - modifier1 ").append(std::to_string(rq.head.modifier1));
  out.append(" modifier2 ").append(std::to_string(rq.head.modifier2));
  return out;
}

}  // namespace brood::node::detail
