#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hook/deliverer.h"
#include "hook/service.h"
#include "hook/signature.h"
#include "hook/store.h"
#include "hook/subscriptions.h"

namespace fs = std::filesystem;
using namespace sigma::hook;

namespace {

TEST(HookSignature, MatchesTheStandardWebhooksVector) {
  // The example of the Standard Webhooks specification.
  auto key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key.is_ok());
  EXPECT_EQ(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  auto other = decode_secret("whsec_" + base64_encode(std::string(32, 'k')));
  ASSERT_TRUE(other.is_ok());
  std::string both = signature_header({*key, *other}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                      R"({"test": 2432232314})");
  EXPECT_EQ(both.substr(0, both.find(' ')), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  EXPECT_EQ(std::count(both.begin(), both.end(), ' '), 1);
}

TEST(HookSignature, Base64RoundTripsAndRefusesGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_FALSE(base64_decode("a*b").is_ok());
  EXPECT_FALSE(decode_secret("whsec_").is_ok());
  EXPECT_FALSE(decode_secret("whsec_c2hvcnQ=").is_ok());  // "short": too few bytes
}

TEST(HookSubscriptions, GlobsAndWants) {
  EXPECT_TRUE(glob_match("stream.*", "stream.started"));
  EXPECT_FALSE(glob_match("stream.*", "alert.stream"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("news-*", "news-eu"));
  EXPECT_FALSE(glob_match("news", "news-eu"));
  Subscription s;
  s.events = {"stream.*", "alert.*"};
  s.channels = {"news", "sport-*"};
  EXPECT_TRUE(s.wants("stream.ended", "news"));
  EXPECT_TRUE(s.wants("alert.disk_low", "sport-1"));
  EXPECT_FALSE(s.wants("segment.written", "news"));
  EXPECT_FALSE(s.wants("stream.ended", "movies"));
}

TEST(HookSubscriptions, ParsesAndReportsFileAndLine) {
  auto ok = parse_subscriptions(
      "# hooks\n[subscription crm]\nurl = https://example.com/h\nsecret_file = /etc/s\nevents = stream.* alert.*\n"
      "timeout = 5s\nmax_age = 2h\n\n[subscription ops]\nexec = notify --to 'on call'\n",
      "hooks.conf");
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  ASSERT_EQ(ok->subs.size(), 2u);
  EXPECT_EQ(ok->subs[0].events, (std::vector<std::string>{"stream.*", "alert.*"}));
  EXPECT_EQ(ok->subs[0].timeout_ms, 5000);
  EXPECT_EQ(ok->subs[0].max_age_ms, 7'200'000);
  EXPECT_EQ(ok->subs[1].exec, (std::vector<std::string>{"notify", "--to", "on call"}));
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"[subscription a]\nurl = https://x\nsecret_file = /s\nbogus = 1\n", "f:4: unknown key 'bogus'"},
      {"[subscription a]\nurl = https://x\nurl = https://y\n", "f:3:"},
      {"[subscription a]\nsecret_file = /s\n", "f:1: [subscription a]: needs one of url or exec"},
      {"[subscription a]\nurl = https://x\n", "f:1: [subscription a]: a url needs secret_file"},
      {"[subscription a]\nexec = x\ntimeout = 0\n", "f:3:"},
      {"[subscription a]\nexec = x\nconcurrency = 100\n", "f:3: concurrency"},
      {"[subscription -a]\nexec = x\n", "f:1:"},
      {"[channel a]\nexec = x\n", "f:1:"},
  };
  for (const auto& c : cases) {
    auto r = parse_subscriptions(c.text, "f");
    ASSERT_FALSE(r.is_ok()) << c.text;
    EXPECT_EQ(r.status().code(), sigma::ExitCode::kUsage);
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << r.status().message();
  }
}

TEST(HookRetry, BackoffDoublesWithJitterUpToTheCap) {
  for (uint64_t rnd : {0ULL, 1ULL, 12345ULL, ~0ULL}) {
    int64_t d1 = backoff_ms(1, 1000, 60000, rnd), d3 = backoff_ms(3, 1000, 60000, rnd),
            d20 = backoff_ms(20, 1000, 60000, rnd);
    EXPECT_GE(d1, 500);
    EXPECT_LE(d1, 1000);
    EXPECT_GE(d3, 2000);
    EXPECT_LE(d3, 4000);
    EXPECT_GE(d20, 30000);
    EXPECT_LE(d20, 60000);
  }
  EXPECT_EQ(parse_retry_after("120", 0), 120000);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40000), 60000);
  EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 200000), 0);
  EXPECT_EQ(parse_retry_after("soon", 0), -1);
}

class HookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("sigma_hook_store_" + std::to_string(::getpid()) + "_" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite"))
                .string();
    fs::remove(path_);
  }
  void TearDown() override {
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(path_ + ext);
  }
  std::string path_;
};

TEST_F(HookStoreTest, OutboxKeepsOrderPositionAndCounts) {
  {
    auto s = Store::open(path_);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    auto& st = **s;
    ASSERT_TRUE(st.enqueue({{"crm", "a", "id1", "{1}"}, {"crm", "b", "id2", "{2}"}, {"crm", "a", "id3", "{3}"}},
                           "/ev", 42, 300, 2, 1000)
                    .is_ok());
    auto pos = st.position("/ev");
    ASSERT_TRUE(pos.is_ok());
    EXPECT_EQ(pos->first, 42u);
    EXPECT_EQ(pos->second, 300u);
    auto h = st.head("crm", "a");
    ASSERT_TRUE(h.is_ok() && h->has_value());
    EXPECT_EQ((*h)->event_id, "id1");
    int64_t seq1 = (*h)->seq;
    int64_t seq2 = (*st.head("crm", "b"))->seq;
    ASSERT_TRUE(st.finish({Finished{seq1, "crm", Outcome::kDelivered, 0, "", ""},
                           Finished{seq2, "crm", Outcome::kRetry, 5000, "HTTP 503 from http://r/", ""}},
                          2000)
                    .is_ok());
    EXPECT_EQ((*st.head("crm", "a"))->event_id, "id3");
    EXPECT_EQ((*st.head("crm", "b"))->attempts, 1);
    EXPECT_EQ((*st.head("crm", "b"))->next_ms, 5000);
    int64_t seq3 = (*st.head("crm", "a"))->seq;
    ASSERT_TRUE(st.finish({Finished{seq3, "crm", Outcome::kGone, 0, "HTTP 410", "http://r/"}}, 3000).is_ok());
    EXPECT_FALSE(st.head("crm", "a")->has_value());
  }
  // Read-only, as `status` opens it.
  auto r = Store::open(path_, true);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto s = (*r)->sub_status("crm");
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(s->delivered, 1);
  EXPECT_EQ(s->pending, 1);
  EXPECT_EQ(s->retrying, 1);
  EXPECT_EQ(s->failed, 1);
  EXPECT_TRUE(s->disabled);
  EXPECT_EQ(s->disabled_target, "http://r/");
  EXPECT_EQ(s->last_error, "HTTP 410");
  EXPECT_EQ(*(*r)->garbage(), 2);
}

// The supervisor writes a channel's own events to the global file and the
// channel's file with one id; sigma-hook follows both and must send once.
TEST_F(HookStoreTest, AnEventReadFromTwoFilesIsQueuedOnceAReplayAgain) {
  auto s = Store::open(path_);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  auto& st = **s;
  ASSERT_TRUE(st.enqueue({{"crm", "a", "id1", "{1}"}, {"ops", "a", "id1", "{1}"}}, "/global", 1, 10, 0, 1000).is_ok());
  ASSERT_TRUE(st.enqueue({{"crm", "a", "id1", "{1}"}, {"crm", "a", "id2", "{2}"}}, "/a.ndjson", 2, 10, 0, 2000).is_ok());
  EXPECT_EQ(st.sub_status("crm")->pending, 2);  // id1 once, id2
  EXPECT_EQ(st.sub_status("ops")->pending, 1);
  ASSERT_TRUE(st.enqueue({{"crm", "a", "id1", "{1}"}}, "", 0, 0, 0, 3000).is_ok());  // replay
  EXPECT_EQ(st.sub_status("crm")->pending, 3);
  // A day later the id is forgotten: a file read again from its start
  // (its position lost) sends it again, as at-least-once allows.
  ASSERT_TRUE(st.enqueue({{"crm", "a", "id1", "{1}"}}, "/global", 1, 10, 0, 1000 + 25 * 3600 * 1000LL).is_ok());
  EXPECT_EQ(st.sub_status("crm")->pending, 4);
}

TEST_F(HookStoreTest, AForeignFileIsADataError) {
  { std::ofstream(path_) << std::string(8192, 'z'); }
  auto s = Store::open(path_);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), sigma::ExitCode::kData);
  EXPECT_NE(s.status().message().find("state " + path_), std::string::npos);
}

}  // namespace
