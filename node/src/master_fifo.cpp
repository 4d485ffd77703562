// master_fifo: read the FIFO, decode each byte, re-create the FIFO after EOF.
#include "master_fifo.hpp"

#include <array>
#include <utility>

#include "brood/os/log.hpp"

namespace brood::node {
namespace {

struct command_name {
  fifo_command command;
  std::string_view name;
};

constexpr std::array<command_name, 19> commands{{
    {fifo_command::more_workers, "more_workers"},
    {fifo_command::fewer_workers, "fewer_workers"},
    {fifo_command::reinforcements, "reinforcements"},
    {fifo_command::chain_reload, "chain_reload"},
    {fifo_command::go_cheap, "go_cheap"},
    {fifo_command::emperor_rescan, "emperor_rescan"},
    {fifo_command::refork, "refork"},
    {fifo_command::reopen_log, "reopen_log"},
    {fifo_command::rotate_log, "rotate_log"},
    {fifo_command::toggle_pause, "toggle_pause"},
    {fifo_command::write_pidfiles, "write_pidfiles"},
    {fifo_command::graceful_shutdown, "graceful_shutdown"},
    {fifo_command::brutal_shutdown, "brutal_shutdown"},
    {fifo_command::graceful_reload, "graceful_reload"},
    {fifo_command::brutal_reload, "brutal_reload"},
    {fifo_command::log_stats, "log_stats"},
    {fifo_command::toggle_subscriptions, "toggle_subscriptions"},
    {fifo_command::graceful_worker_reload, "graceful_worker_reload"},
    {fifo_command::brutal_worker_reload, "brutal_worker_reload"},
}};

// "'x'" for a printable byte, "byte N" (decimal) for any other.
std::string describe(char byte) {
  const auto u = static_cast<unsigned char>(byte);
  if (u > 0x20 && u < 0x7f) return std::string("'") + byte + "'";
  return "byte " + std::to_string(u);
}

}  // namespace

std::optional<fifo_command> fifo_command_of(char byte) noexcept {
  for (const command_name& c : commands)
    if (static_cast<char>(c.command) == byte) return c.command;
  return std::nullopt;
}

std::string_view to_string(fifo_command command) noexcept {
  for (const command_name& c : commands)
    if (c.command == command) return c.name;
  return "unknown";
}

os::result<std::unique_ptr<master_fifo>> master_fifo::open(os::event_loop& loop,
                                                           std::vector<std::string> paths,
                                                           handler on_command) {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  if (paths.empty() || paths[0].empty()) return os::status(invalid, "master FIFO: no path");
  if (paths.size() > max_slots)
    return os::status(invalid, "master FIFO: " + std::to_string(paths.size()) +
                                   " paths, at most 10 (slots 0 to 9)");
  auto fifo = os::command_fifo::open(paths[0]);
  if (!fifo) return fifo.error().context("master FIFO");
  return std::unique_ptr<master_fifo>(
      new master_fifo(loop, std::move(paths), std::move(on_command), std::move(*fifo)));
}

master_fifo::master_fifo(os::event_loop& loop, std::vector<std::string> paths, handler on_command,
                         os::command_fifo fifo)
    : loop_(loop),
      paths_(std::move(paths)),
      on_command_(std::move(on_command)),
      fifo_(std::move(fifo)) {
  watch();
}

master_fifo::~master_fifo() {
  *alive_ = false;
  if (watched_fd_ >= 0) loop_.unwatch(watched_fd_);
}

void master_fifo::watch() {
  watched_fd_ = fifo_.fd();
  loop_.watch(watched_fd_, [this] { on_readable(); });
}

void master_fifo::on_readable() {
  const std::shared_ptr<bool> alive = alive_;  // the handler may destroy *this
  const os::command_fifo::read_result got = fifo_.read();
  for (char byte : got.bytes) {
    on_byte(byte);
    if (!*alive) return;
  }
  if (got.eof) recreate();
}

void master_fifo::on_byte(char byte) {
  if (byte >= '0' && byte <= '9') return select_slot(static_cast<std::size_t>(byte - '0'));
  if (byte == '\n' || byte == '\r') return;
  if (auto command = fifo_command_of(byte)) {
    const handler call = on_command_;  // it may destroy *this, and on_command_ with it
    return call(*command);
  }
  os::log("master FIFO: unknown command ", describe(byte), " ignored");
}

void master_fifo::select_slot(std::size_t slot) {
  if (slot >= paths_.size() || paths_[slot].empty()) {
    os::log("master FIFO: slot ", slot, " has no path, ignored");
    return;
  }
  selected_ = slot;
}

void master_fifo::recreate() {
  loop_.unwatch(std::exchange(watched_fd_, -1));
  if (os::status st = fifo_.reopen(paths_[selected_]); !st.ok()) {
    os::log("master FIFO disabled: ", st.message());
    return;
  }
  watch();
}

}  // namespace brood::node
