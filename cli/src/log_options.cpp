#include "log_options.hpp"

#include "option_values.hpp"

namespace brood::cli {

po::options_description log_option_group(unsigned help_width) {
  po::options_description group("Logging", help_width, help_width / 2);
  return group;
}

void apply_log_options(const po::variables_map& vm, node::node_config& cfg) {
  (void)vm;
  (void)cfg;
}

}  // namespace brood::cli
