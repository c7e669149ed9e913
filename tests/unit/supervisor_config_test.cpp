#include <gtest/gtest.h>

#include <algorithm>

#include "supervisor/config.h"
#include "supervisor/plan.h"

using namespace sigma;
using namespace sigma::supervisor;

namespace {
const char* kGood = R"(# a comment
[global]
run_dir = /run/s
out_root = /srv/out
health = 127.0.0.1:9999
origin = 127.0.0.1:8080
rtmp = 127.0.0.1:1935
keys = /etc/sigma/keys
record_dir = /srv/rec
death_tally = 3 in 20s
backoff_max = 10s

[channel news]
input = publish
mode = ultra-low
ladder = 1280x720@3000k,640x360@800k
record = yes
events = /var/log/news.ndjson
package.args = --window 10

[channel "relay"]
input = pull srt://10.0.0.1:9000?streamid=x&passphrase=secret
mode = normal
dvr = 2h
enabled = no
)";
}  // namespace

TEST(SupervisorConfig, ParsesEverySetting) {
  auto cfg = parse_config(kGood, "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(cfg->global.run_dir, "/run/s");
  EXPECT_EQ(cfg->global.restart.death_tally, 3);
  EXPECT_EQ(cfg->global.restart.death_window_ms, 20000);
  EXPECT_EQ(cfg->global.restart.backoff_max_ms, 10000);
  ASSERT_EQ(cfg->channels.size(), 2u);
  const auto& news = cfg->channels[0];
  EXPECT_EQ(news.name, "news");
  EXPECT_EQ(news.input_kind, InputKind::kPublish);
  EXPECT_EQ(news.mode, "ultra-low");
  EXPECT_TRUE(news.record);
  EXPECT_EQ(news.output_dir, "/srv/out/news");
  EXPECT_EQ(news.stages.at("package").extra_args, (std::vector<std::string>{"--window", "10"}));
  const auto& relay = cfg->channels[1];
  EXPECT_EQ(relay.name, "relay");
  EXPECT_EQ(relay.input_kind, InputKind::kPull);
  EXPECT_EQ(relay.input, "srt://10.0.0.1:9000?streamid=x&passphrase=secret");
  EXPECT_EQ(relay.dvr_window_s, 7200);
  EXPECT_FALSE(relay.enabled);
}

// Every error names the file and the line, and is a usage error (exit 100).
static void expect_error(const std::string& text, const std::string& where, const std::string& what) {
  auto cfg = parse_config(text, "c.conf");
  ASSERT_FALSE(cfg.is_ok()) << text;
  EXPECT_EQ(cfg.status().code(), ExitCode::kUsage);
  EXPECT_EQ(cfg.status().message().rfind("c.conf:" + where + ": ", 0), 0u) << cfg.status().message();
  EXPECT_NE(cfg.status().message().find(what), std::string::npos) << cfg.status().message();
}

TEST(SupervisorConfig, ErrorsCarryTheLine) {
  expect_error("[global]\nrun_dri = /x\n", "2", "unknown key 'run_dri'");
  expect_error("[global]\n\n[channel a]\nmode = fast\n", "4", "mode: expected normal, low or ultra-low");
  expect_error("[channel a]\n[channel a]\n", "2", "defined twice");
  expect_error("[channel ../etc]\n", "1", "channel name");
  expect_error("mode = low\n", "1", "before any");
  expect_error("[global]\nhealth = 127.0.0.1\n", "2", "HOST:PORT");
  expect_error("[global]\nbackoff_max = 5 s\n", "2", "duration unit");
  expect_error("[channel a]\ninput = pull\n", "2", "needs one URL");
  expect_error("[channel a]\ninput = exec sh -c 'unterminated\n", "2", "unterminated");
  expect_error("[channel a]\nmode = low\nmode = normal\n", "3", "set twice");
  expect_error("[channel a]\nrecord = yes\n", "1", "record_dir");
  expect_error("[channel a]\nfoo.args = x\n", "2", "unknown stage 'foo'");
  expect_error("[global]\ndeath_tally = 5\n", "2", "N in DURATION");
  expect_error("[bogus]\n", "1", "unknown section");
  expect_error("[channel a\n", "1", "closing ']'");
  expect_error("[channel a]\njust words\n", "2", "key = value");
  expect_error("[global]\nrtmp = off\n[channel a]\ninput = publish\n", "3", "rtmp and srt off");
  expect_error("[channel a]\noutput = /x/\n[channel b]\noutput = /x\n", "3", "as another channel does");
}

TEST(SupervisorConfig, Durations) {
  EXPECT_EQ(*parse_duration_ms("500ms"), 500);
  EXPECT_EQ(*parse_duration_ms("30"), 30000);
  EXPECT_EQ(*parse_duration_ms("30s"), 30000);
  EXPECT_EQ(*parse_duration_ms("5m"), 300000);
  EXPECT_EQ(*parse_duration_ms("2h"), 7200000);
  EXPECT_FALSE(parse_duration_ms("").is_ok());
  EXPECT_FALSE(parse_duration_ms("-1s").is_ok());
  EXPECT_FALSE(parse_duration_ms("3 days").is_ok());
}

TEST(SupervisorConfig, SplitAndQuoteRoundTrip) {
  auto w = split_words(R"(ffmpeg -f lavfi -i "testsrc2=size=640x360" 'a b' c\ d "x\"y")");
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"ffmpeg", "-f", "lavfi", "-i", "testsrc2=size=640x360", "a b", "c d", "x\"y"}));
  EXPECT_EQ(shell_quote("plain/path.ts"), "plain/path.ts");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
}

TEST(SupervisorPlan, PublishChannelWithLadder) {
  auto cfg = parse_config(kGood, "t.conf");
  ASSERT_TRUE(cfg.is_ok());
  Plan plan = make_plan(*cfg, "");
  ASSERT_EQ(plan.shared.size(), 2u);
  EXPECT_EQ(plan.shared[0].id, "ingest");
  EXPECT_EQ(plan.shared[0].argv,
            (std::vector<std::string>{"sigma-ingest", "--rtmp", "127.0.0.1:1935", "--keys", "/etc/sigma/keys",
                                      "--output", "/run/s/{channel}/source.ts", "--listed-only", "--channels",
                                      "/run/s/ingest-channels", "--status-file", "/run/s/ingest-status.json"}));
  // Recording is per channel, in the file the ingest re-reads on SIGHUP.
  EXPECT_EQ(plan.shared[0].reload_file, "/run/s/ingest-channels");
  EXPECT_EQ(plan.shared[0].reload_text, "news,record=/srv/rec\n");
  EXPECT_EQ(plan.shared[1].argv, (std::vector<std::string>{"sigma-origin", "--listen", "127.0.0.1:8080", "--root", "/srv/out"}));
  ASSERT_EQ(plan.channels.size(), 1u);  // relay is disabled
  const ChannelPlan& news = plan.channels[0];
  EXPECT_EQ(news.fifos, (std::vector<std::string>{"/run/s/news/source.ts", "/run/s/news/ladder.ts"}));
  ASSERT_EQ(news.stages.size(), 2u);
  EXPECT_EQ(news.stages[0].argv,
            (std::vector<std::string>{"sigma-transcode", "-i", "/run/s/news/source.ts", "-o", "/run/s/news/ladder.ts",
                                      "--ladder", "1280x720@3000k,640x360@800k", "--mode", "ultra-low",
                                      "--channel", "news"}));
  EXPECT_EQ(news.stages[1].argv,
            (std::vector<std::string>{"sigma-package", "-i", "/run/s/news/ladder.ts", "-o", "/srv/out/news", "--mode",
                                      "ultra-low", "--channel", "news", "--window", "10"}));
  auto child = child_argv(news.stages[1]);
  EXPECT_EQ(std::vector<std::string>(child.end() - 4, child.end()),
            (std::vector<std::string>{"--ready-fd", "3", "--events", "fd:4"}));
}

TEST(SupervisorPlan, ExecInputAndCommandOverride) {
  auto cfg = parse_config(R"([global]
run_dir = /r
out_root = /o
origin = off
[channel t]
input = exec ffmpeg -i x -f mpegts -
package.command = sh -c 'echo >&{ready_fd}; cat {input} >/dev/null'
)", "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  Plan plan = make_plan(*cfg, "");
  EXPECT_TRUE(plan.shared.empty());  // no publish channel, no origin
  const ChannelPlan& t = plan.channels[0];
  ASSERT_EQ(t.stages.size(), 2u);
  EXPECT_EQ(t.stages[0].stdout_fifo, "/r/t/source.ts");
  EXPECT_FALSE(t.stages[0].notify_ready);
  EXPECT_TRUE(t.stages[1].notify_ready);
  EXPECT_EQ(child_argv(t.stages[1]),
            (std::vector<std::string>{"sh", "-c", "echo >&3; cat /r/t/source.ts >/dev/null"}));
  std::string sh = render_shell(plan);
  EXPECT_NE(sh.find("mkfifo -m 0600 /r/t/source.ts"), std::string::npos) << sh;
  EXPECT_NE(sh.find("exec 3<>/r/t/source.ts"), std::string::npos) << sh;
  EXPECT_NE(sh.find("ffmpeg -i x -f mpegts - </dev/null >/r/t/source.ts &"), std::string::npos) << sh;
  EXPECT_NE(sh.find("sh -c 'echo >&2; cat /r/t/source.ts >/dev/null' </dev/null >/dev/null &"), std::string::npos) << sh;
}

TEST(SupervisorPlan, LadderPresetOrRungs) {
  auto plan_for = [](const std::string& ladder) {
    auto cfg = parse_config("[channel c]\ninput = pull x.ts\nladder = " + ladder + "\ndvr = 60s\n", "t.conf");
    EXPECT_TRUE(cfg.is_ok()) << cfg.status().message();
    return make_plan(*cfg, "");
  };
  auto transcode = plan_for("720p").channels[0].stages[1].argv;
  EXPECT_EQ(std::vector<std::string>(transcode.begin() + 5, transcode.begin() + 7),
            (std::vector<std::string>{"--preset", "720p"}));
  transcode = plan_for("720p,360p").channels[0].stages[1].argv;
  EXPECT_EQ(std::vector<std::string>(transcode.begin() + 5, transcode.begin() + 7),
            (std::vector<std::string>{"--ladder", "720p,360p"}));
  // 60 s of DVR in low mode: 60 segments of 1 s in the playlist.
  auto package = plan_for("passthrough").channels[0].stages.back().argv;
  EXPECT_EQ(std::vector<std::string>(package.end() - 2, package.end()), (std::vector<std::string>{"--window", "60"}));
  // The pull source writes the source FIFO itself.
  auto source = plan_for("passthrough").channels[0].stages[0];
  EXPECT_EQ(source.argv, (std::vector<std::string>{"sigma-ingest", "-i", "x.ts", "--channel", "c", "-o",
                                                   "/run/sigma/c/source.ts", "--status-file",
                                                   "/run/sigma/c/ingest-status.json"}));
  EXPECT_TRUE(source.stdout_fifo.empty());
}

// A published channel without a ladder needs no process of its own: the
// shared ingest packages it (a line of its --channels file), and the channel's one stage is
// that ingest, so its health follows it. SRT, a package override or
// package_in_ingest = no keep the FIFO and sigma-package.
TEST(SupervisorPlan, TransmuxPublishPackagedInIngest) {
  const char* base = R"([global]
run_dir = /r
out_root = /o
origin = off
[channel a]
input = publish
mode = ultra-low
dvr = 30s
[channel b]
input = publish
package_in_ingest = no
[channel c]
input = publish
package.args = --segment-duration 2
[channel d]
input = publish
ladder = 720p
)";
  auto cfg = parse_config(base, "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  Plan plan = make_plan(*cfg, "");
  ASSERT_EQ(plan.shared.size(), 1u);
  EXPECT_EQ(plan.shared[0].argv,
            (std::vector<std::string>{"sigma-ingest", "--rtmp", "127.0.0.1:1935", "--output", "/r/{channel}/source.ts",
                                      "--listed-only", "--channels", "/r/ingest-channels", "--status-file", "/r/ingest-status.json"}));
  // Every channel is listed (the ingest takes publishers only for those).
  EXPECT_EQ(plan.shared[0].reload_text, "a=/o/a,mode=ultra-low,window=15\nb\nc\nd\n");
  ASSERT_EQ(plan.channels.size(), 4u);
  const ChannelPlan& a = plan.channels[0];
  EXPECT_TRUE(a.fifos.empty());
  ASSERT_EQ(a.stages.size(), 1u);
  EXPECT_EQ(a.stages[0].id, "ingest");
  EXPECT_TRUE(a.stages[0].same_as(plan.shared[0]));
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(plan.channels[i].stages.back().stage, "package") << plan.channels[i].name;
    EXPECT_EQ(plan.channels[i].fifos.front(), "/r/" + plan.channels[i].name + "/source.ts");
  }
  std::string sh = render_shell(plan);
  EXPECT_EQ(sh.find("sigma-ingest"), sh.rfind("sigma-ingest")) << sh;  // the ingest runs once
  EXPECT_NE(sh.find("# (packaged by the shared ingest)"), std::string::npos) << sh;
  EXPECT_NE(sh.find("cat >/r/ingest-channels <<'SIGMA_EOF'\na=/o/a,mode=ultra-low,window=15\nb\nc\nd\nSIGMA_EOF\n"),
            std::string::npos) << sh;

  // Adding a channel changes the file, not the ingest's command line: a
  // reload sends SIGHUP instead of restarting it.
  auto more = parse_config(std::string(base) + "[channel e]\ninput = publish\nmode = low\n", "t.conf");
  ASSERT_TRUE(more.is_ok()) << more.status().message();
  Plan more_plan = make_plan(*more, "");
  EXPECT_TRUE(more_plan.shared[0].same_as(plan.shared[0]));
  EXPECT_EQ(more_plan.shared[0].reload_text, "a=/o/a,mode=ultra-low,window=15\nb\nc\nd\ne=/o/e,mode=low\n");

  auto srt = parse_config(std::string(base).replace(std::string(base).find("origin = off"), 12, "srt = 127.0.0.1:9000"),
                          "t.conf");
  ASSERT_TRUE(srt.is_ok()) << srt.status().message();
  Plan with_srt = make_plan(*srt, "");
  EXPECT_EQ(with_srt.channels[0].stages.back().stage, "package");  // SRT may publish it
  EXPECT_EQ(with_srt.shared[0].reload_text, "a\nb\nc\nd\n");  // listed, none packaged in it
}

// The archive keys: validated like the others, turned into sigma-dvr's
// own forms (it parses them again), and each one alone turns it on.
TEST(SupervisorConfig, ArchiveKeys) {
  EXPECT_EQ(*parse_duration_ms("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(*parse_size_bytes("100G"), 100LL << 30);
  EXPECT_EQ(*parse_size_bytes("500M"), 500LL << 20);
  EXPECT_EQ(*parse_size_bytes("4096"), 4096);
  EXPECT_FALSE(parse_size_bytes("-1").is_ok());
  EXPECT_FALSE(parse_size_bytes("10GB").is_ok());
  EXPECT_FALSE(parse_size_bytes("99999999999T").is_ok());

  auto cfg = parse_config("[channel a]\ninput = pull x.ts\narchive = 168h\narchive_max = 1024M\n"
                          "[channel b]\ninput = pull y.ts\narchive_max = 2048\n[channel c]\ninput = pull z.ts\ndvr = 2h\n",
                          "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  EXPECT_EQ(cfg->channels[0].archive, "7d");
  EXPECT_EQ(cfg->channels[0].archive_max, "1G");
  EXPECT_EQ(cfg->channels[0].archive_max_bytes, 1LL << 30);
  EXPECT_TRUE(cfg->channels[1].archived());
  EXPECT_EQ(cfg->channels[1].archive_max, "2K");
  EXPECT_TRUE(cfg->channels[1].archive.empty());
  EXPECT_FALSE(cfg->channels[2].archived());  // a DVR window alone is no archive

  expect_error("[channel a]\ninput = pull x\narchive = banana\n", "3", "archive: expected how long");
  expect_error("[channel a]\ninput = pull x\narchive_max = -1\n", "3", "archive_max: expected the most");
  expect_error("[channel a]\ninput = pull x\narchive = 0\n", "3", "archive: expected");
  expect_error("[channel a]\ninput = pull x\narchive = 1500ms\n", "3", "archive: expected");
  // Shorter than the live window: the archive would delete what it lists.
  expect_error("[channel a]\ninput = pull x\narchive = 1h\ndvr = 2h\n", "3", "shorter than the channel's dvr window");
  expect_error("[channel a]\ninput = pull x\narchive = 30s\n", "3", "shorter than a minute");
  expect_error("[channel a]\ninput = pull x\ndvr.banana = x\n", "3", "expected dvr.args or dvr.command");
}

TEST(SupervisorPlan, ArchiveAddsTheDvrStage) {
  const char* base = R"([global]
run_dir = /r
out_root = /o
origin = off
events = /log/events.ndjson
[channel a]
input = publish
mode = low
dvr = 2h
archive = 7d
archive_max = 100G
[channel b]
input = pull x.ts
mode = low
archive = 1h
[channel c]
input = pull y.ts
dvr = 2h
[channel d]
input = publish
)";
  auto cfg = parse_config(base, "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  Plan plan = make_plan(*cfg, "");
  // Packaged in the ingest: its channel line keeps the segments.
  EXPECT_EQ(plan.shared[0].reload_text, "a=/o/a,mode=low,window=7200,keep\nd=/o/d,mode=low\n");
  const ChannelPlan& a = plan.channels[0];
  ASSERT_EQ(a.stages.size(), 2u);
  EXPECT_EQ(a.stages[0].id, "ingest");
  const StageSpec& dvr = a.stages[1];
  EXPECT_EQ(dvr.id, "a/dvr");
  EXPECT_EQ(dvr.stage, "dvr");
  EXPECT_TRUE(dvr.stdin_events);
  EXPECT_TRUE(dvr.stdin_fifo.empty());
  EXPECT_EQ(child_argv(dvr),
            (std::vector<std::string>{"sigma-dvr", "run", "--dir", "/o/a", "--channel", "a", "--events-in", "-",
                                      "--retain", "7d", "--max-bytes", "100G", "--ready-fd", "3", "--events",
                                      "fd:4"}));
  // Its own sigma-package: --keep, then the dvr stage after it.
  const ChannelPlan& b = plan.channels[1];
  ASSERT_EQ(b.stages.size(), 3u);
  EXPECT_EQ(b.stages[1].argv.back(), "--keep");
  EXPECT_EQ(b.stages[2].argv, (std::vector<std::string>{"sigma-dvr", "run", "--dir", "/o/b", "--channel", "b",
                                                        "--events-in", "-", "--retain", "1h"}));
  // No archive: no --keep and no sigma-dvr, whatever the window.
  for (size_t i : {2u, 3u}) {
    for (auto& st : plan.channels[i].stages) {
      EXPECT_NE(st.stage, "dvr") << plan.channels[i].name;
      EXPECT_EQ(std::count(st.argv.begin(), st.argv.end(), "--keep"), 0) << plan.channels[i].name;
    }
  }
  // The dry run's sigma-dvr follows the events file (no supervisor to
  // forward them).
  std::string sh = render_shell(plan);
  EXPECT_NE(sh.find("sigma-dvr run --dir /o/b --channel b --events-in /log/events.ndjson --retain 1h "
                    "--events /log/events.ndjson </dev/null >/dev/null &"),
            std::string::npos)
      << sh;

  // Changing the retention changes the dvr stage only; removing the
  // archive changes the packager (no --keep) and drops the stage.
  std::string text = base;
  auto shorter = parse_config(text.replace(text.find("archive = 1h"), 12, "archive = 2h"), "t.conf");
  ASSERT_TRUE(shorter.is_ok());
  Plan p2 = make_plan(*shorter, "");
  EXPECT_TRUE(p2.channels[1].stages[1].same_as(b.stages[1]));
  EXPECT_FALSE(p2.channels[1].stages[2].same_as(b.stages[2]));
  EXPECT_TRUE(p2.shared[0].same_as(plan.shared[0]));
  text = base;
  auto none = parse_config(text.replace(text.find("archive = 1h"), 12, "# no archive"), "t.conf");
  ASSERT_TRUE(none.is_ok());
  Plan p3 = make_plan(*none, "");
  ASSERT_EQ(p3.channels[1].stages.size(), 2u);
  EXPECT_FALSE(p3.channels[1].stages[1].same_as(b.stages[1]));
  EXPECT_TRUE(p3.channels[0].stages[1].same_as(dvr));  // channel a untouched
}
