// log_client: a forked process's side of the node's shared task log (log_server.hpp).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "log_protocol.hpp"
#include "log_server.hpp"
#include "process_id.hpp"

namespace brood::spooler {

using namespace log_protocol;

namespace {

bool write_all(int fd, const wire::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// False at EOF, error or timeout (errno says which; 0 at EOF).
bool read_all(int fd, wire::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = 0;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

namespace log_client {
namespace {

// This thread's connections, by server name (reopened after a fork: the pid differs).
struct connection {
  pid_t pid = 0;
  os::unique_fd fd;
};
thread_local std::map<std::string, connection> connections;

}  // namespace

os::unique_fd connect_to(const std::string& server) {
  os::unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  socklen_t len = 0;
  const sockaddr_un a = address_of(server, len);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), len) != 0) return {};
  const timeval tv{30, 0};
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

void encode_request(wire::bytes& req, std::size_t dir, const std::string& rel_path,
                    wire::bytes_view file, bool server_writes_file, bool answer_client) {
  req.reserve(req.size() + 9 + rel_path.size() + file.size());
  put_le(req, 5 + rel_path.size() + file.size(), 4);
  req.push_back(!server_writes_file ? op_task
                : answer_client     ? op_task_answer_client
                                    : op_task_file_later);
  put_le(req, dir, 2);
  put_le(req, rel_path.size(), 2);
  req.insert(req.end(), rel_path.begin(), rel_path.end());
  req.insert(req.end(), file.begin(), file.end());
}

std::size_t decode_answer(wire::bytes_view in, os::result<std::uint64_t>& seq) {
  if (in.empty()) return 0;
  if (in[0] == 0) {
    if (in.size() < 9) return 0;
    seq = get_le(in.data() + 1, 8);
    return 9;
  }
  if (in.size() < 7) return 0;
  const std::size_t mlen = get_le(in.data() + 5, 2);
  if (in.size() < 7 + mlen) return 0;
  const int err = static_cast<int>(get_le(in.data() + 1, 4));
  seq = os::status(std::error_code(err ? err : EIO, std::system_category()),
                   std::string(reinterpret_cast<const char*>(in.data() + 7), mlen));
  return 7 + mlen;
}

outcome commit(const std::string& server, std::size_t dir, const std::string& rel_path,
               wire::bytes_view file, const std::function<os::status()>& write_file) {
  outcome out;
  wire::bytes req;
  encode_request(req, dir, rel_path, file);

  connection& c = connections[server];
  if (c.pid != current_pid()) {
    (void)c.fd.release();  // the parent's (still open there)
    c.pid = current_pid();
  }
  bool sent = c.fd && write_all(c.fd.get(), req.data(), req.size());
  if (!sent) {  // a kept connection may have been closed by the server: one new one
    c.fd = connect_to(server);
    sent = c.fd && write_all(c.fd.get(), req.data(), req.size());
    if (!sent) {
      c.fd = {};
      out.unreachable = true;
      return out;
    }
  }
  const os::status written = write_file();
  wire::byte head[9];
  if (!read_all(c.fd.get(), head, 1) ||
      (head[0] == 0 ? !read_all(c.fd.get(), head + 1, 8) : !read_all(c.fd.get(), head + 1, 6))) {
    const int err = errno;
    c.fd = {};
    out.seq = os::status::from_errno(err ? err : EPIPE,
                                     "no answer from the node's task log (@" + server + ")");
    return out;
  }
  if (head[0] == 0) {
    out.seq = get_le(head + 1, 8);
  } else {
    const int err = static_cast<int>(get_le(head + 1, 4));
    std::string msg(get_le(head + 5, 2), '\0');
    if (!read_all(c.fd.get(), reinterpret_cast<wire::byte*>(msg.data()), msg.size())) c.fd = {};
    out.seq = os::status(std::error_code(err ? err : EIO, std::system_category()), msg);
  }
  if (!written.ok()) out.seq = written;
  return out;
}

}  // namespace log_client
}  // namespace brood::spooler
