#include "identity.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>

namespace brood::legion {

std::string random_uuid() {
  std::random_device rd;
  unsigned char b[16];
  for (unsigned char& c : b) c = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

identity make_identity(const legion_config& c) {
  identity id;
  id.legion = c.name;
  id.address = c.address.text();
  id.uuid = random_uuid();
  id.valor = c.valor;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) id.hostname = host;
  id.pid = ::getpid();
  id.scroll = c.scroll;
  return id;
}

election_params make_params(const legion_config& c, const timing& t) {
  election_params p;
  for (const endpoint& e : c.members()) p.members.push_back(e.text());
  p.quorum = c.effective_quorum();
  p.times = t;
  return p;
}

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

message stamp(message m, const identity& self, std::uint64_t& seq) {
  m.legion = self.legion;
  m.from = self.address;
  m.uuid = self.uuid;
  m.seq = ++seq;
  m.unix_ms = unix_ms_now();
  m.valor = self.valor;
  m.hostname = self.hostname;
  m.pid = self.pid;
  m.scroll = self.scroll;
  return m;
}

}  // namespace brood::legion
