// The durable spool store (spool_store.hpp, docs/spool_format.md, docs/uwsgi-compat.md §3.2-3.3).
#include "brood/spooler/spool_store.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "spool_store_fixture.hpp"

namespace brood::spooler {
namespace {

using namespace testing_spool;
using std::chrono::system_clock;

class spool_store_test : public spool_store_fixture {
 protected:
  void SetUp() override {
    spool_store_fixture::SetUp();
    dir_ = under("spool");
  }
  spooler::spool_store make() { return spooler::spool_store({dir_}); }

  std::string dir_;
  const wire::spool_vars task_{{"ud_spool_func", "send_mail"}, {"to", "a@b"}, {"empty", ""}};
};

TEST_F(spool_store_test, CreatesItsDirsAsRealpaths) {
  std::filesystem::create_directory(under("real"));
  std::filesystem::create_directory_symlink(under("real"), under("link"));
  const spooler::spool_store store({dir_, under("link"), under("real/../real")});
  EXPECT_EQ(store.dirs(), (std::vector<std::string>{dir_, under("real"), under("real")}));
  EXPECT_EQ(mode_of(dir_), 0750u);
}

TEST_F(spool_store_test, ConstructorNamesTheDirItCannotCreate) {
  const std::string bad = under("missing/parent/spool");
  try {
    spooler::spool_store store({bad});
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

TEST_F(spool_store_test, EnqueueWritesADurableDecodableFile) {
  const spooler::spool_store store = make();
  const spooler::spool_status s = store.enqueue(task_, std::string("raw\0body", 8));
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(std::filesystem::path(s.path).parent_path(), dir_);
  EXPECT_EQ(entries(dir_), std::vector<std::string>{std::string(file_name_of(s.path))});
  EXPECT_EQ(mode_of(s.path), 0600u);
  const decoded_task t = decode_task_file(s.path);
  ASSERT_TRUE(t.ok) << t.why;
  EXPECT_TRUE(t.checksummed);
  EXPECT_EQ(t.vars, task_);
  EXPECT_EQ(t.body, std::string("raw\0body", 8));
  EXPECT_EQ(store.dir_of(s.path), dir_);
}

TEST_F(spool_store_test, FileNameHasUwsgiShape) {
  const spooler::spool_status s = make().enqueue(task_, {});
  ASSERT_TRUE(s) << s.message;
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::string name = file_name_of(s.path);
  const std::string head =
      "uwsgi_spoolfile_on_" + std::string(host) + "_" + std::to_string(::getpid()) + "_";
  ASSERT_EQ(name.rfind(head, 0), 0u) << name;
  // <counter>_<random>_<sec>_<usec>: four numbers.
  const std::string rest = name.substr(head.size());
  EXPECT_EQ(std::count(rest.begin(), rest.end(), '_'), 3) << name;
  EXPECT_EQ(rest.find_first_not_of("0123456789_"), std::string::npos) << name;
}

TEST_F(spool_store_test, NoDirsMeansNoSpooler) {
  const spooler::spool_store store(std::vector<std::string>{});
  EXPECT_EQ(store.enqueue(task_, {}).error, make_error_code(spooler::spool_errc::no_spooler));
}

TEST_F(spool_store_test, PriorityGoesToANumericSubdir) {
  const spooler::spool_store store = make();
  wire::spool_vars v = task_;
  v.emplace_back("priority", "7");
  const spooler::spool_status s = store.enqueue(v, {});
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(std::filesystem::path(s.path).parent_path(), dir_ + "/7");
  EXPECT_EQ(mode_of(dir_ + "/7"), 0750u);
  EXPECT_EQ(store.dir_of(s.path), dir_);
  EXPECT_EQ(decode_task_file(s.path).vars, v);  // special keys kept
}

TEST_F(spool_store_test, BadPriorityIsABadRequestAndCreatesNothing) {
  const spooler::spool_store store = make();
  for (const char* p : {"", "3a", "-1", "../x", "1.5"}) {
    const spooler::spool_status s = store.enqueue({{"priority", p}}, {});
    EXPECT_EQ(s.error, make_error_code(spooler::spool_errc::bad_request)) << p;
    EXPECT_NE(s.message.find("priority"), std::string::npos) << s.message;
  }
  EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(spool_store_test, AtBecomesAtimeAndMtime) {
  const spooler::spool_status s = make().enqueue({{"at", "2000000000.75"}}, {});
  ASSERT_TRUE(s) << s.message;
  struct stat st {};
  ASSERT_EQ(::stat(s.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 0);
  EXPECT_EQ(st.st_atim.tv_sec, 2000000000);
  EXPECT_TRUE(make().enqueue({{"at", "12"}}, {}));
  EXPECT_TRUE(make().enqueue({{"at", "12."}}, {}));
}

TEST_F(spool_store_test, BadAtIsABadRequest) {
  const spooler::spool_store store = make();
  for (const char* at : {"", "soon", "1e9", "-5", ".5", "1.2.3", "99999999999999999999999"}) {
    const spooler::spool_status s = store.enqueue({{"at", at}}, {});
    EXPECT_EQ(s.error, make_error_code(spooler::spool_errc::bad_request)) << at;
  }
  EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(spool_store_test, SpoolerKeySelectsAmongDirs) {
  const spooler::spool_store store({dir_, under("other")});
  const std::string other = under("other");
  const spooler::spool_status exact = store.enqueue({{"spooler", other}, {"k", "v"}}, {});
  ASSERT_TRUE(exact) << exact.message;
  EXPECT_EQ(std::filesystem::path(exact.path).parent_path(), other);
  const spooler::spool_status resolved = store.enqueue({{"spooler", dir_ + "/../other/"}}, {});
  ASSERT_TRUE(resolved) << resolved.message;
  EXPECT_EQ(std::filesystem::path(resolved.path).parent_path(), other);
  const spooler::spool_status deflt = store.enqueue({{"k", "v"}}, {});
  EXPECT_EQ(std::filesystem::path(deflt.path).parent_path(), dir_);
  const spooler::spool_status unknown = store.enqueue({{"spooler", "/nowhere/spool"}}, {});
  EXPECT_EQ(unknown.error, make_error_code(spooler::spool_errc::unknown_spooler));
  EXPECT_NE(unknown.message.find("/nowhere/spool"), std::string::npos) << unknown.message;
  EXPECT_EQ(entries(other).size(), 2u);
  EXPECT_EQ(entries(dir_).size(), 1u);
}

TEST_F(spool_store_test, OversizedVarsAreTooBig) {
  const spooler::spool_store store = make();
  // 4 + 1 + n bytes for the var, 32 for brood's checksum var.
  const std::string fits(65535 - 32 - 5, 'x');
  EXPECT_TRUE(store.enqueue({{"k", fits}}, std::string(100000, 'b')));
  const spooler::spool_status s = store.enqueue({{"k", fits + "x"}}, {});
  EXPECT_EQ(s.error, make_error_code(spooler::spool_errc::too_big));
  EXPECT_NE(s.message.find("use the body"), std::string::npos) << s.message;
  EXPECT_EQ(store.enqueue({{"k", std::string(70000, 'x')}}, {}).error,
            make_error_code(spooler::spool_errc::too_big));
  EXPECT_EQ(store.enqueue({{"", "v"}}, {}).error,
            make_error_code(spooler::spool_errc::bad_request));
  EXPECT_EQ(entries(dir_).size(), 1u);
}

TEST_F(spool_store_test, RewriteReplacesTheFileDurably) {
  const spooler::spool_store store = make();
  const spooler::spool_status s = store.enqueue(task_, "body");
  ASSERT_TRUE(s) << s.message;
  wire::spool_vars again = task_;
  again.emplace_back("brood_attempt", "2");
  again.emplace_back("brood_last_error", "boom");
  const auto due =
      system_clock::time_point(std::chrono::seconds(2100000000)) + std::chrono::milliseconds(250);
  const spooler::spool_status r = store.rewrite(s.path, again, "new body", due);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.path, s.path);
  const decoded_task t = decode_task_file(s.path);
  EXPECT_EQ(t.vars, again);
  EXPECT_EQ(t.body, "new body");
  struct stat st {};
  ASSERT_EQ(::stat(s.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 2100000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 250000000);
  EXPECT_EQ(mode_of(s.path), 0600u);
  EXPECT_EQ(entries(dir_).size(), 1u);  // no temp file left
}

TEST_F(spool_store_test, RewriteNeverResurrectsADeletedTask) {
  const spooler::spool_store store = make();
  const spooler::spool_status s = store.enqueue(task_, {});
  ASSERT_EQ(::unlink(s.path.c_str()), 0);
  const spooler::spool_status r = store.rewrite(s.path, task_, {}, system_clock::now());
  EXPECT_EQ(r.error, make_error_code(spooler::spool_errc::write_failed));
  EXPECT_NE(r.message.find(s.path), std::string::npos) << r.message;
  EXPECT_TRUE(entries(dir_).empty());
}

TEST_F(spool_store_test, MoveAsideKeepsTheName) {
  const spooler::spool_store store = make();
  wire::spool_vars v = task_;
  v.emplace_back("priority", "2");
  const spooler::spool_status s = store.enqueue(v, {});
  ASSERT_TRUE(s) << s.message;
  const spooler::spool_status m = store.move_aside(s.path, "failed");
  ASSERT_TRUE(m) << m.message;
  EXPECT_EQ(m.path, dir_ + "/failed/" + file_name_of(s.path));
  EXPECT_EQ(mode_of(dir_ + "/failed"), 0750u);
  EXPECT_TRUE(entries(dir_ + "/2").empty());
  EXPECT_TRUE(decode_task_file(m.path).ok);
  EXPECT_EQ(store.dir_of(m.path), std::nullopt);  // failed/ is not a task dir
}

TEST_F(spool_store_test, MoveAsideRefusesForeignPathsAndBadSubdirs) {
  const spooler::spool_store store = make();
  const spooler::spool_status s = store.enqueue(task_, {});
  EXPECT_EQ(store.move_aside(under("elsewhere"), "failed").error,
            make_error_code(spooler::spool_errc::unknown_spooler));
  for (const char* sub : {"", "a/b", "..", "."}) {
    EXPECT_EQ(store.move_aside(s.path, sub).error,
              make_error_code(spooler::spool_errc::bad_request));
  }
  const spooler::spool_status gone =
      store.move_aside(dir_ + "/uwsgi_spoolfile_on_gone", "quarantine");
  EXPECT_EQ(gone.error, make_error_code(spooler::spool_errc::write_failed));
  EXPECT_NE(gone.message.find("No such file"), std::string::npos) << gone.message;
}

TEST_F(spool_store_test, DirOfKnowsOnlyTaskDirs) {
  const spooler::spool_store store = make();
  EXPECT_EQ(store.dir_of(dir_ + "/x"), dir_);
  EXPECT_EQ(store.dir_of(dir_ + "/12/x"), dir_);
  EXPECT_EQ(store.dir_of(dir_ + "/quarantine/x"), std::nullopt);
  EXPECT_EQ(store.dir_of(under("x")), std::nullopt);
  EXPECT_EQ(store.dir_of("x"), std::nullopt);
}

TEST(spool_result_test, ClassifiesAsUwsgi) {
  EXPECT_EQ(spooler::classify_spool_result(-2), spooler::spool_result::ok);
  EXPECT_EQ(spooler::classify_spool_result(-1), spooler::spool_result::retry);
  EXPECT_EQ(spooler::classify_spool_result(0), spooler::spool_result::ignore);
  EXPECT_EQ(spooler::classify_spool_result(1), spooler::spool_result::retry);
  EXPECT_EQ(spooler::classify_spool_result(-3), spooler::spool_result::retry);
}

TEST(spool_result_test, ErrorCategoryNamesEveryCode) {
  EXPECT_STREQ(spooler::spool_category().name(), "brood.spool");
  for (int e = 1; e <= static_cast<int>(spooler::spool_errc::write_failed); ++e) {
    EXPECT_NE(make_error_code(static_cast<spooler::spool_errc>(e)).message(),
              "unknown spool error");
  }
}

}  // namespace
}  // namespace brood::spooler
