// Uses the installed client: a ping to a brood node whose address is argv[1] must answer.
// Exit status 0 when it does; the error otherwise.
#include <chrono>
#include <iostream>

#include "brood/client/client.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer ADDRESS\n";
    return 2;
  }
  auto answer = brood::client::ping(argv[1], std::chrono::milliseconds(5000));
  if (!answer) {
    std::cerr << "consumer: " << answer.error().message << "\n";
    return 1;
  }
  std::cout << "consumer: PONG from " << argv[1] << "\n";
  return 0;
}
