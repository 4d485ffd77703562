// Interop: brood's spool() client enqueues onto a REAL uWSGI 2.0 spooler, and the tasks run
// there (the uwsgi.spooler callable writes a marker file). uWSGI closes the connection after
// each answer, so the calls also exercise the client's handling of pooled connections the
// peer closed. Skipped when uWSGI or its python3/spooler plugins are not installed.
#include <signal.h>

#include <fstream>
#include <thread>

#include "brood/client/spool.hpp"
#include "spool_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* uwsgi_binary = "/usr/bin/uwsgi";
constexpr const char* plugin_dir = "/usr/lib/uwsgi/plugins";

// The spooler callable: writes the task's body to the file named by its `marker` var.
constexpr const char* task_py = R"(import os
import uwsgi


def task(env):
    path = env[b'marker'].decode()
    with open(path + '.tmp', 'wb') as f:
        f.write(env.get(b'body', b''))
    os.rename(path + '.tmp', path)
    return uwsgi.SPOOL_OK


uwsgi.spooler = task
)";

class spool_uwsgi_test : public spool_fixture {
 protected:
  void SetUp() override {
    spool_fixture::SetUp();
    for (const std::string& f :
         {std::string(uwsgi_binary), std::string(plugin_dir) + "/python3_plugin.so",
          std::string(plugin_dir) + "/spooler_plugin.so"})
      if (!fs::exists(f))
        GTEST_SKIP() << f
                     << " is missing (Debian packages uwsgi-core, "
                        "uwsgi-plugin-python3)";
    fs::create_directory(dir_ / "py");
    fs::create_directory(dir_ / "markers");
    std::ofstream(dir_ / "py/task.py") << task_py;
  }

  // Starts uWSGI with a spooler on DIR/spool; returns its address once its worker is up.
  std::string start_uwsgi() {
    std::string address =
        start(uwsgi_binary, {"--plugin", "python3,spooler", "--master", "--socket", "127.0.0.1:0",
                             "--spooler", dir_ / "spool", "--spooler-frequency", "1",
                             "--python-path", dir_ / "py", "--import", "task"});
    EXPECT_TRUE(proc().wait_for_line(std::regex("spawned uWSGI worker 1"), 10s))
        << proc().all_output();
    return address;
  }

  // Waits until `path` exists (the task ran); false after `timeout`.
  static bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
    return eventually([&] { return fs::exists(path); }, timeout);
  }
};

TEST_F(spool_uwsgi_test, BroodClientEnqueuesOntoARealUwsgiSpoolerAndTheTasksRun) {
  const std::string address = start_uwsgi();
  ASSERT_FALSE(address.empty());
  constexpr int tasks = 5;
  for (int i = 0; i < tasks; ++i) {  // one thread: later calls find pooled connections closed
    auto r = client::spool(address, {{"marker", dir_ / "markers/" + std::to_string(i)}},
                           "ran " + std::to_string(i), 5s);
    ASSERT_TRUE(r) << "task " << i << ": " << r.error().message << "\n" << proc().all_output();
  }
  for (int i = 0; i < tasks; ++i) {
    const std::string marker = dir_ / "markers/" + std::to_string(i);
    ASSERT_TRUE(wait_for_file(marker, 15s)) << "task " << i << " never ran\n"
                                            << proc().all_output();
    EXPECT_EQ(read_file(marker), "ran " + std::to_string(i));
  }
}

TEST_F(spool_uwsgi_test, UwsgiRefusesAnUnknownSpoolerWithTheSameAnswer) {
  const std::string address = start_uwsgi();
  ASSERT_FALSE(address.empty());
  auto r = client::spool(address, {{"spooler", dir_ / "nowhere"}, {"marker", dir_ / "x"}}, {}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().remote_type, "SpoolerRefused") << r.error().message;
  // The raw answer is the bare 4-byte failure reply brood's node gives too.
  raw_socket s(address);
  EXPECT_EQ(exchange(s, spool_packet(vars_block({{"spooler", dir_ / "nowhere"}}))), refusal);
}

}  // namespace
}  // namespace brood::testing
