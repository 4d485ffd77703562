#pragma once
// The legions of a node (docs/config.md "Legion"), owned by run_node around the master: the
// shared views are made before any worker is forked (workers read them: uwsgi.i_am_the_lord),
// then the members start (their threads live in the master only). Destroyed after the master:
// a lord resigns, death hooks run, attach daemons stop.
#include <memory>

#include "brood/legion/config.hpp"
#include "brood/legion/member.hpp"
#include "brood/legion/shared_views.hpp"

namespace brood::node {

class node_legion {
 public:
  node_legion() = default;
  ~node_legion();
  node_legion(const node_legion&) = delete;
  node_legion& operator=(const node_legion&) = delete;

  // Nothing without legions. False (logged, "legion 'web': cannot bind ...") when one cannot
  // start. Sets legion::set_process_legion.
  bool start(const legion::config& c);

 private:
  legion::shared_views views_;
  std::unique_ptr<legion::members> members_;
};

}  // namespace brood::node
