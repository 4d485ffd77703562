// The `brood` command: a node with the built-in handlers only, or a client subcommand.
#include "brood/cli/cli.hpp"

int main(int argc, char** argv) { return brood::cli::run(argc, argv); }
