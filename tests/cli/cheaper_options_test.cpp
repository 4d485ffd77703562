// The cheaper, idle and master FIFO options of `brood` (docs/uwsgi-compat.md §5.2, §5.3, §7.1):
// defaults, the command line, ini files, the environment, and the master they imply (the checks
// between values are in cheaper_checks_test.cpp). In-process, no network.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "options.hpp"
#include "options_fixture.hpp"

namespace brood::cli {
namespace {

using node::cheaper_algo;
using std::chrono::seconds;

using cheaper_options_test = options_fixture;

// The ten FIFO paths /f0 ... /f9, then `extra` more.
std::vector<std::string> fifo_args(unsigned extra) {
  std::vector<std::string> args;
  for (unsigned i = 0; i < 10 + extra; ++i) {
    args.push_back("--master-fifo");
    args.push_back("/f" + std::to_string(i));
  }
  return args;
}

TEST_F(cheaper_options_test, DefaultsMatchUwsgi) {
  const node::node_config c = parse({});
  const node::cheaper_config& ch = c.cheaper;
  EXPECT_FALSE(ch.enabled());
  EXPECT_EQ(ch.cheaper, 0u);
  EXPECT_EQ(ch.initial, 0u);
  EXPECT_EQ(ch.step, 1u);
  EXPECT_EQ(ch.overload, 3u);
  EXPECT_EQ(ch.algo, cheaper_algo::brood);
  EXPECT_EQ(ch.idle, seconds(0));
  EXPECT_EQ(ch.rss_limit_soft, 0u);
  EXPECT_EQ(ch.rss_limit_hard, 0u);
  EXPECT_FALSE(ch.memory_report);
  EXPECT_EQ(ch.busyness.max, 50u);
  EXPECT_EQ(ch.busyness.min, 25u);
  EXPECT_EQ(ch.busyness.multiplier, 10u);
  EXPECT_EQ(ch.busyness.penalty, 2u);
  EXPECT_FALSE(ch.busyness.verbose);
  EXPECT_EQ(ch.busyness.backlog_alert, 33u);
  EXPECT_EQ(ch.busyness.backlog_multiplier, 3u);
  EXPECT_EQ(ch.busyness.backlog_step, 1u);
  EXPECT_EQ(ch.busyness.backlog_nonzero, seconds(60));
  EXPECT_EQ(c.check_interval, seconds(1));
  EXPECT_EQ(c.idle, seconds(0));
  EXPECT_FALSE(c.die_on_idle);
  EXPECT_TRUE(c.master_fifo.empty());
  EXPECT_FALSE(c.master);
}

// Every option with a value other than its default ("" : a flag), as the command line and an ini
// file give them.
const std::vector<std::pair<std::string, std::string>> every_option = {
    {"processes", "8"},
    {"cheaper", "2"},
    {"cheaper-initial", "4"},
    {"cheaper-step", "3"},
    {"cheaper-overload", "5"},
    {"cheaper-algo", "busyness"},
    {"cheaper-idle", "7"},
    {"memory-report", ""},
    {"cheaper-rss-limit-soft", "268435456"},
    {"cheaper-rss-limit-hard", "536870912"},
    {"cheaper-busyness-max", "70"},
    {"cheaper-busyness-min", "20"},
    {"cheaper-busyness-multiplier", "6"},
    {"cheaper-busyness-penalty", "4"},
    {"cheaper-busyness-verbose", ""},
    {"cheaper-busyness-backlog-alert", "12"},
    {"cheaper-busyness-backlog-multiplier", "5"},
    {"cheaper-busyness-backlog-step", "2"},
    {"cheaper-busyness-backlog-nonzero", "30"},
    {"check-interval", "2"},
    {"idle", "90"},
    {"die-on-idle", ""},
    {"master-fifo", "/run/a.fifo"},
    {"master-fifo", "/run/b.fifo"},
};

void expect_every_option(const node::node_config& c) {
  const node::cheaper_config& ch = c.cheaper;
  EXPECT_TRUE(ch.enabled());
  EXPECT_EQ(ch.cheaper, 2u);
  EXPECT_EQ(ch.initial, 4u);
  EXPECT_EQ(ch.step, 3u);
  EXPECT_EQ(ch.overload, 5u);
  EXPECT_EQ(ch.algo, cheaper_algo::busyness);
  EXPECT_EQ(ch.idle, seconds(7));
  EXPECT_TRUE(ch.memory_report);
  EXPECT_EQ(ch.rss_limit_soft, 268435456u);
  EXPECT_EQ(ch.rss_limit_hard, 536870912u);
  EXPECT_EQ(ch.busyness.max, 70u);
  EXPECT_EQ(ch.busyness.min, 20u);
  EXPECT_EQ(ch.busyness.multiplier, 6u);
  EXPECT_EQ(ch.busyness.penalty, 4u);
  EXPECT_TRUE(ch.busyness.verbose);
  EXPECT_EQ(ch.busyness.backlog_alert, 12u);
  EXPECT_EQ(ch.busyness.backlog_multiplier, 5u);
  EXPECT_EQ(ch.busyness.backlog_step, 2u);
  EXPECT_EQ(ch.busyness.backlog_nonzero, seconds(30));
  EXPECT_EQ(c.check_interval, seconds(2));
  EXPECT_EQ(c.idle, seconds(90));
  EXPECT_TRUE(c.die_on_idle);
  EXPECT_EQ(c.master_fifo, (std::vector<std::string>{"/run/a.fifo", "/run/b.fifo"}));
  EXPECT_TRUE(c.master);
}

TEST_F(cheaper_options_test, CommandLineFillsEveryField) {
  std::vector<std::string> args;
  for (const auto& [key, value] : every_option) {
    args.push_back("--" + key);
    if (!value.empty()) args.push_back(value);
  }
  expect_every_option(parse(args));
}

TEST_F(cheaper_options_test, IniFileWithUwsgiNames) {
  std::string text = "[uwsgi]\n";
  for (const auto& [key, value] : every_option)
    text += key + " = " + (value.empty() ? "true" : value) + "\n";
  expect_every_option(parse({"--ini", write("c.ini", text)}));
}

TEST_F(cheaper_options_test, EnvironmentVariablesAreOptions) {
  options_result r =
      parse_options({}, {"UWSGI_PROCESSES=4", "UWSGI_CHEAPER=1", "UWSGI_CHEAPER_ALGO=backlog"});
  ASSERT_TRUE(r.options.has_value()) << r.error;
  EXPECT_EQ(r.options->config.cheaper.cheaper, 1u);
  EXPECT_EQ(r.options->config.cheaper.algo, cheaper_algo::backlog);
}

TEST_F(cheaper_options_test, EveryAlgoNameIsAccepted) {
  const std::pair<const char*, cheaper_algo> names[] = {
      {"brood", cheaper_algo::brood},       {"spare", cheaper_algo::spare},
      {"spare2", cheaper_algo::spare2},     {"backlog", cheaper_algo::backlog},
      {"busyness", cheaper_algo::busyness}, {"manual", cheaper_algo::manual}};
  for (auto [name, algo] : names)
    EXPECT_EQ(parse({"-p", "2", "--cheaper", "1", "--cheaper-algo", name}).cheaper.algo, algo)
        << name;
}

TEST_F(cheaper_options_test, CheaperStepZeroBehavesAsOne) {
  EXPECT_EQ(parse({"-p", "4", "--cheaper", "1", "--cheaper-step", "0"}).cheaper.step, 1u);
}

TEST_F(cheaper_options_test, CheaperZeroIsOff) {
  const node::node_config c = parse({"-p", "4", "--cheaper", "0", "--cheaper-initial", "3"});
  EXPECT_FALSE(c.cheaper.enabled());
  EXPECT_EQ(c.cheaper.initial, 0u);
}

TEST_F(cheaper_options_test, CheaperOptionsWithoutCheaperKeepItOff) {
  const node::node_config c = parse({"--cheaper-algo", "spare", "--cheaper-overload", "9"});
  EXPECT_FALSE(c.cheaper.enabled());
  EXPECT_EQ(c.cheaper.algo, cheaper_algo::spare);
  EXPECT_EQ(c.cheaper.overload, 9u);
  EXPECT_EQ(c.cheaper.initial, 0u);
}

TEST_F(cheaper_options_test, OptionsThatNeedTheMasterImplyIt) {
  const std::vector<std::vector<std::string>> implying = {{"-p", "1", "--cheaper", "0"},
                                                          {"--cheaper-algo", "spare"},
                                                          {"--cheaper-busyness-verbose"},
                                                          {"--memory-report"},
                                                          {"--idle", "30"},
                                                          {"--master-fifo", "/tmp/m.fifo"}};
  for (const auto& args : implying) EXPECT_TRUE(parse(args).master) << args.front();
  const std::vector<std::vector<std::string>> not_implying = {
      {"--idle", "0"}, {"--die-on-idle"}, {"--check-interval", "5"}};
  for (const auto& args : not_implying) EXPECT_FALSE(parse(args).master) << args.front();
}

TEST_F(cheaper_options_test, MasterFifoIsRepeatableUpToTenSlots) {
  std::string ini = write("f.ini", "[uwsgi]\nmaster-fifo = /ini.fifo\n");
  EXPECT_EQ(parse({"--master-fifo", "/cli.fifo", "--ini", ini}).master_fifo,
            (std::vector<std::string>{"/cli.fifo", "/ini.fifo"}));
  const node::node_config ten = parse(fifo_args(0));
  ASSERT_EQ(ten.master_fifo.size(), 10u);
  EXPECT_EQ(ten.master_fifo[9], "/f9");
  EXPECT_EQ(error_of(fifo_args(1)),
            "invalid value '/f10' for option 'master-fifo': at most 10 paths (slots 0 to 9), "
            "this is path 11");
}

TEST_F(cheaper_options_test, HelpListsTheNewOptions) {
  const std::string help = help_text();
  for (const char* name : {"--cheaper ",
                           "--cheaper-initial",
                           "--cheaper-step",
                           "--cheaper-overload",
                           "--cheaper-algo",
                           "--cheaper-idle",
                           "--cheaper-rss-limit-soft",
                           "--cheaper-rss-limit-hard",
                           "--memory-report",
                           "--cheaper-busyness-max",
                           "--cheaper-busyness-min",
                           "--cheaper-busyness-multiplier",
                           "--cheaper-busyness-penalty",
                           "--cheaper-busyness-verbose",
                           "--cheaper-busyness-backlog-alert",
                           "--cheaper-busyness-backlog-multiplier",
                           "--cheaper-busyness-backlog-step",
                           "--cheaper-busyness-backlog-nonzero",
                           "--check-interval",
                           "--idle ",
                           "--die-on-idle",
                           "--master-fifo"})
    EXPECT_NE(help.find(name), std::string::npos) << name;
}

}  // namespace
}  // namespace brood::cli
