#include <gtest/gtest.h>

#include "base/push_url.h"
#include "ingest/restream_config.h"
#include "supervisor/config.h"

using namespace sigma;

TEST(PushUrl, TakesRtmpRtmpsAndSrt) {
  auto r = parse_push_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->kind, PushKind::kFlv);
  EXPECT_EQ(r->host, "a.rtmp.youtube.com");
  EXPECT_EQ(r->port, 0);
  r = parse_push_url("rtmps://live.twitch.tv:443/app/live_1");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->port, 443);
  r = parse_push_url("srt://10.0.0.2:9000?streamid=#!::r=live/k,m=publish");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->kind, PushKind::kMpegTs);
  EXPECT_TRUE(parse_push_url("rtmp://[::1]:1935/live/k").is_ok());
}

TEST(PushUrl, RefusesWhatCannotWorkWithoutShowingTheKey) {
  for (const char* bad : {"http://h/live/SECRET", "rtmp://h/SECRET", "rtmp:///live/SECRET", "srt://h?streamid=SECRET",
                          "rtmp://h:0/live/SECRET", "rtmp://h:99999/live/SECRET", "rtmp://h/live/SE CRET",
                          "rtmp://h/live/", "SECRET", "rtmpx://h/live/SECRET", "rtmp://h:x/live/SECRET"}) {
    auto r = parse_push_url(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), ExitCode::kUsage) << bad;
    EXPECT_EQ(r.status().message().find("SECRET"), std::string::npos) << r.status().message();
  }
}

TEST(RestreamConfig, CliSpecsAndChannelsFileLines) {
  ingest::RestreamConfig c;
  ASSERT_TRUE(c.add("studio.a.yt=rtmp://h/live/k1", "--restream").is_ok());
  auto rest = c.take_from("studio=/srv/hls/studio,mode=low\n  restream studio.a.srt=srt://h:9000?streamid=#x\n"
                          "news,record=/rec\n",
                          "channels");
  ASSERT_TRUE(rest.is_ok()) << rest.status().message();
  EXPECT_EQ(*rest, "studio=/srv/hls/studio,mode=low\n\nnews,record=/rec\n");
  auto t = c.for_channel("studio.a");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].name, "yt");
  EXPECT_EQ(t[1].url, "srt://h:9000?streamid=#x");
  EXPECT_TRUE(c.for_channel("studio").empty());
  auto dup = c.add("studio.a.yt=rtmp://h/live/k2", "--restream");
  EXPECT_EQ(dup.code(), ExitCode::kUsage);
  EXPECT_EQ(c.add("studio=rtmp://h/live/k", "x").code(), ExitCode::kUsage);
  EXPECT_EQ(c.add("studio.b@d=rtmp://h/live/k", "x").code(), ExitCode::kUsage);
  auto bad = c.take_from("restream s.x=ftp://h/KEY123\n", "channels");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("channels:1"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("KEY123"), std::string::npos);
}

TEST(SupervisorRestream, NamedTargetsAreCheckedAtConfigTime) {
  auto cfg = supervisor::parse_config(
      "[channel a]\nrestream.yt = rtmp://h/live/KEY1\nrestream.b-2 = srt://h:9000?streamid=KEY2\n", "t.conf");
  ASSERT_TRUE(cfg.is_ok()) << cfg.status().message();
  ASSERT_EQ(cfg->channels[0].restream.size(), 2u);
  EXPECT_EQ(cfg->channels[0].restream[1].name, "b-2");
  for (const char* text : {"[channel a]\nrestream.yt = ftp://h/live/KEY1\n", "[channel a]\nrestream = rtmp://h/l/KEY1\n",
                           "[channel a]\nrestream.yt = rtmp://h/l/KEY1\nrestream.yt = rtmp://h/l/KEY1\n",
                           "[channel a]\nrestream.yt.rung = 720p\n",
                           "[channel a]\ninput = pull /dev/null\nrestream.yt = rtmp://h/l/KEY1\n"}) {
    auto r = supervisor::parse_config(text, "t.conf");
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ExitCode::kUsage);
    EXPECT_EQ(r.status().message().find("KEY1"), std::string::npos) << r.status().message();
  }
}
