// Remote enqueue (modifier1 17) on real brood nodes: the ack comes only once the task file is on
// disk and decodes; the failure reply for no spooler, an unknown spooler, a malformed or too big
// vars block and a failed write (leaving nothing behind); concurrent producers; `brood spool`.
#include <unistd.h>

#include <regex>
#include <set>
#include <thread>

#include "brood/client/spool.hpp"
#include "node_fixture.hpp"
#include "spool_fixture.hpp"

namespace brood::testing {
namespace {

using namespace std::chrono_literals;
using kv = std::pair<std::string, std::string>;

class spool_remote_test : public spool_fixture {
 protected:
  std::string spool_dir() const { return dir_ / "spool"; }
  // A node that accepts tasks into spool_dir() and runs no spooler process, so the files stay.
  std::string start_store_node(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--spooler-external", spool_dir()});
    return start_brood(std::move(extra));
  }
};

TEST_F(spool_remote_test, AckOnlyOnceTheTaskFileExistsAndDecodes) {
  const std::string address = start_store_node();
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    auto r = client::spool(address, {{"task", n}, {"payload", std::string(i * 100, 'p')}},
                           "body " + n, 5s);
    ASSERT_TRUE(r) << r.error().message << "\n" << proc().all_output();
    // Right after the ack: one more file, complete and checksummed; no temp file left.
    const auto files = task_files(spool_dir());
    ASSERT_EQ(files.size(), static_cast<std::size_t>(i + 1));
    EXPECT_EQ(entries(spool_dir()).size(), files.size()) << "only task files in the dir";
    std::set<std::string> tasks;
    for (const auto& f : files) {
      std::vector<kv> vars;
      ASSERT_TRUE(decode_task(spool_dir() + "/" + f, vars));
      tasks.insert(vars.at(0).second);
      if (vars.at(0).second == n) {
        EXPECT_EQ(vars,
                  (std::vector<kv>{
                      {"task", n}, {"payload", std::string(i * 100, 'p')}, {"body", "body " + n}}));
      }
    }
    EXPECT_TRUE(tasks.count(n)) << "task " << n << " missing after its ack";
  }
}

// A client that reads each answer to the end of the connection (as it may with uWSGI, which
// closes) gets the end at once, not after keepalive-timeout (60 s by default).
TEST_F(spool_remote_test, AnswersEndWithTheConnectionAsUwsgis) {
  const std::string address = start_store_node();
  const auto read_all = [&](const wire::bytes& packet) {
    raw_socket s(address);
    EXPECT_TRUE(s.connected());
    EXPECT_TRUE(s.send(packet));
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<std::string> all = s.read_to_eof(5s);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "the answer never ended";
    return all.value_or("(no end within 5 s)");
  };
  EXPECT_EQ(read_all(spool_packet(vars_block({{"a", "1"}}))), std::string("\xff\0\0\x01", 4));
  wire::bytes ping;
  wire::append_packet(ping, wire::to_byte(wire::modifier1::ping), 0, {});
  EXPECT_EQ(read_all(ping), std::string("\x64\0\0\x01", 4));
  EXPECT_EQ(read_all(spool_packet(vars_block({{"spooler", "/nope"}}))),
            std::string("\xff\0\0\0", 4));
}

TEST_F(spool_remote_test, NodeWithSpoolerDirAcksDurably) {
  const std::string address = start_brood({"--spooler", spool_dir()});
  auto r = client::spool(address, {{"a", "1"}}, {}, 5s);
  ASSERT_TRUE(r) << r.error().message << "\n" << proc().all_output();
  // No handler in the plain brood binary: the task is kept, never lost. Acknowledged once its
  // record is committed; the master writes its file right after the answer.
  std::vector<std::string> files;
  eventually([&] { return (files = task_files(spool_dir())).size() == 1; }, 5s, 1ms);
  ASSERT_EQ(files.size(), 1u) << proc().all_output();
  std::vector<kv> vars;
  EXPECT_TRUE(decode_task(spool_dir() + "/" + files[0], vars));
}

TEST_F(spool_remote_test, NoSpoolerAnswersFailureThenCloses) {
  const std::string address = start_brood({});
  raw_socket s(address);
  ASSERT_TRUE(s.connected());
  const auto packet = spool_packet(vars_block({{"a", "1"}}));
  EXPECT_EQ(exchange(s, packet), refusal);
  EXPECT_TRUE(s.closed_by_peer(2s)) << "closed after the answer, as uWSGI";
  EXPECT_TRUE(proc().wait_for_line(
      std::regex(R"(refused a task from 127\.0\.0\.1:\d+: this node has no spooler)"), 5s))
      << proc().all_output();
  auto r = client::spool(address, {{"a", "1"}}, {}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, client::call_errc::remote);
  EXPECT_EQ(r.error().remote_type, "SpoolerRefused");
}

TEST_F(spool_remote_test, UnknownSpoolerVarIsRefusedAndWritesNothing) {
  const std::string address = start_store_node();
  EXPECT_EQ(
      enqueue(address, spool_packet(vars_block({{"spooler", dir_ / "elsewhere"}, {"a", "1"}}))),
      refusal);
  EXPECT_TRUE(task_files(spool_dir()).empty());
  EXPECT_TRUE(proc().wait_for_line(std::regex(R"(refused a task from 127\.0\.0\.1:\d+: .+)"), 5s));
  // The exact realpath of a configured dir is accepted.
  EXPECT_EQ(enqueue(address, spool_packet(vars_block({{"spooler", spool_dir()}, {"a", "1"}}))),
            ack);
  EXPECT_EQ(task_files(spool_dir()).size(), 1u);
}

TEST_F(spool_remote_test, MalformedVarsBlockIsRefusedNotAckedAndDropped) {
  const std::string address = start_store_node();
  // A record announcing a 5-byte key of which 2 bytes follow (uWSGI acks this and drops it).
  const wire::bytes bad_block{5, 0, 'a', 'b'};
  EXPECT_EQ(enqueue(address, spool_packet(bad_block)), refusal);
  const wire::bytes zero_key{0, 0, 1, 0, 'x'};
  EXPECT_EQ(enqueue(address, spool_packet(zero_key)), refusal);
  EXPECT_TRUE(entries(spool_dir()).empty());
  EXPECT_TRUE(proc().wait_for_line(
      std::regex(R"(refused a task from 127\.0\.0\.1:\d+: malformed vars block)"), 5s))
      << proc().all_output();
  EXPECT_EQ(enqueue(address, spool_packet(vars_block({{"a", "1"}}))), ack) << "still serving";
}

TEST_F(spool_remote_test, VarsTooBigForTheChecksumAreRefused) {
  const std::string address = start_store_node({"--buffer-size", "65535"});
  // 2 + 1 + 2 + 65530 = 65535 bytes: a valid packet, but no room left for brood_checksum.
  const std::string big(65530, 'v');
  EXPECT_EQ(enqueue(address, spool_packet(vars_block({{"k", big}}))), refusal);
  EXPECT_TRUE(entries(spool_dir()).empty());
  const std::string fits(65000, 'v');
  EXPECT_EQ(enqueue(address, spool_packet(vars_block({{"k", fits}}))), ack);
  EXPECT_EQ(task_files(spool_dir()).size(), 1u);
}

TEST_F(spool_remote_test, ConcurrentProducersAllAckedAllPresent) {
  const std::string address = start_store_node({"--processes", "4"});
  constexpr int producers = 8;
  constexpr int per_producer = 200;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(producers);
  for (int t = 0; t < producers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_producer; ++i) {
        auto r =
            client::spool(address, {{"id", std::to_string(t) + "-" + std::to_string(i)}}, {}, 10s);
        if (!r) {
          failures[t] = r.error().message;
          return;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < producers; ++t) EXPECT_EQ(failures[t], "") << "producer " << t;
  const auto files = task_files(spool_dir());
  ASSERT_EQ(files.size(), static_cast<std::size_t>(producers * per_producer));
  std::set<std::string> ids;
  for (const auto& f : files) {
    std::vector<kv> vars;
    ASSERT_TRUE(decode_task(spool_dir() + "/" + f, vars));
    ids.insert(vars.at(0).second);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(producers * per_producer));
}

// `brood spool ADDR key=value ...`: prints "spooled" (0), the error (1), bad usage (2).
TEST_F(spool_remote_test, CliSubcommand) {
  const std::string address = start_store_node();
  auto ok = run_brood({"spool", address, "task=mail", "to=a=b", "empty=", "--body", "hi there"});
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_EQ(ok.output, "spooled\n");
  const auto files = task_files(spool_dir());
  ASSERT_EQ(files.size(), 1u);
  std::vector<kv> vars;
  ASSERT_TRUE(decode_task(spool_dir() + "/" + files[0], vars));
  EXPECT_EQ(vars, (std::vector<kv>{
                      {"task", "mail"}, {"to", "a=b"}, {"empty", ""}, {"body", "hi there"}}));

  auto refused = run_brood({"spool", address, "spooler=/nowhere", "a=1"});
  EXPECT_EQ(refused.status, 1) << refused.output;
  EXPECT_NE(refused.output.find("SpoolerRefused"), std::string::npos) << refused.output;
  auto dead = run_brood({"spool", dead_address(), "a=1", "--timeout", "1"});
  EXPECT_EQ(dead.status, 1) << dead.output;
  auto bad = run_brood({"spool", address, "novalue"});
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("expected KEY=VALUE, got 'novalue'"), std::string::npos) << bad.output;
  EXPECT_EQ(run_brood({"spool"}).status, 2);
  EXPECT_EQ(task_files(spool_dir()).size(), 1u);
}

TEST_F(spool_remote_test, UnusableSpoolerDirStopsTheNodeWithStatus2) {
  const std::string file = dir_ / "not-a-dir";
  std::ofstream(file) << "x";
  auto r = run_brood({"--socket", "127.0.0.1:0", "--spooler", file + "/spool"});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(file), std::string::npos) << r.output;
}

}  // namespace
}  // namespace brood::testing
