// The master's handlers for the emperor channel (a vassal only; UWSGI_FACTS.md §4.3).
#include "brood/os/log.hpp"
#include "master.hpp"

namespace brood::node {

// The channel is readable: commands, or EOF/error (the emperor is lost).
void master::on_emperor() {
  auto got = emperor_.receive();
  for (wire::emperor_command c : got.commands) on_emperor_command(c);
  if (got.lost) {
    loop_.unwatch(emperor_.fd());  // level-triggered EOF would fire forever
    exit_status_ = 1;
    stop_now("emperor lost");
  }
  if (all_stopped() && phase_ == phase::stopping) loop_.stop();
}

void master::on_emperor_command(wire::emperor_command c) {
  switch (c) {
    case wire::emperor_command::stop:
      stop_now("the emperor asked to stop");
      break;
    case wire::emperor_command::reload:
      os::log("the emperor asked for a reload");
      on_reload_signal();
      break;
    case wire::emperor_command::stop_gracefully:
      stop_gracefully("the emperor asked to stop gracefully");
      break;
    default:
      os::log("unknown byte ", static_cast<int>(to_byte(c)), " from the emperor: ignored");
      break;
  }
}

}  // namespace brood::node
