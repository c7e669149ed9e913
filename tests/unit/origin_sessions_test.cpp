#include <gtest/gtest.h>

#include <set>

#include "http/access_log.h"
#include "origin/sessions.h"

namespace sigma::origin {
namespace {

TEST(SessionId, Shape) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_session_id();
    ASSERT_EQ(id.size(), kSessionIdLength);
    EXPECT_TRUE(valid_session_id(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(valid_session_id("short"));
  EXPECT_FALSE(valid_session_id("AAAAAAAAAAAAAAAAAAAAA="));
  EXPECT_FALSE(valid_session_id("AAAAAAAAAAAAAAAAAAAAA/"));
}

TEST(PathSession, Strip) {
  const std::string sid = "AbCdEfGhIjKlMnOpQrSt-_";
  auto p = strip_path_session("demo/s/" + sid + "/720p/index.m3u8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->sid, sid);
  EXPECT_EQ(p->rel, "demo/720p/index.m3u8");
  p = strip_path_session("demo/s/" + sid + "/master.m3u8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rel, "demo/master.m3u8");
  p = strip_path_session("demo/s/" + sid + "/");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rel, "demo");
  EXPECT_FALSE(strip_path_session("demo/720p/index.m3u8"));
  EXPECT_FALSE(strip_path_session("demo/s/tooshort/720p/index.m3u8"));
  EXPECT_FALSE(strip_path_session("demo/s/" + sid));
  EXPECT_FALSE(strip_path_session("s/" + sid + "/demo/master.m3u8"));  // the channel comes first
  EXPECT_FALSE(strip_path_session("demo/x/s/" + sid + "/a.m4s"));     // only right under the channel
}

TEST(Cmcd, Sid) {
  EXPECT_EQ(cmcd_sid(R"(bl=21300,br=3200,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",su)"),
            "6e2fb550-c457-11e9-bb97-0800200c9a66");
  EXPECT_EQ(cmcd_sid(R"(sid="a,b",cid="x")"), "a,b");
  EXPECT_EQ(cmcd_sid(R"(cid="sid=\"no\"",sid="yes")"), "yes");  // escaped quotes in another key's string
  EXPECT_EQ(cmcd_sid(R"(sid="a\"b")"), std::nullopt);
  EXPECT_EQ(cmcd_sid(R"(cid="x, sid=no",sid="yes")"), "yes");
  EXPECT_EQ(cmcd_sid("sid=token"), std::nullopt);
  EXPECT_EQ(cmcd_sid(R"(sid="")"), std::nullopt);
  EXPECT_EQ(cmcd_sid(R"(sid="unterminated)"), std::nullopt);
  EXPECT_EQ(cmcd_sid("sid=\"" + std::string(65, 'a') + "\""), std::nullopt);
  EXPECT_EQ(cmcd_sid("sid=\"" + std::string(64, 'a') + "\""), std::string(64, 'a'));
  EXPECT_EQ(cmcd_sid("br=3200,su"), std::nullopt);
  EXPECT_EQ(cmcd_sid(""), std::nullopt);
}

TEST(SessionMaster, PrefixesVariantsAndRenditions) {
  const std::string master =
      "#EXTM3U\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"audio/index.m3u8\"\n"
      "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"cc1\",INSTREAM-ID=\"CC1\"\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,AUDIO=\"aud\"\n"
      "720p/index.m3u8\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=800000\r\n"
      "360p/index.m3u8?start=1&end=2\r\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=1\n"
      "https://cdn.example/x.m3u8\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2\n"
      "/other/y.m3u8\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI=\"720p/iframes.m3u8\"\n"
      "#EXT-X-SESSION-DATA:DATA-ID=\"com.x\",VALUE=\"URI=\\\"a\\\"\"\n";
  const std::string want =
      "#EXTM3U\n"
      "#EXT-X-INDEPENDENT-SEGMENTS\n"
      "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"en\",DEFAULT=YES,URI=\"s/SID/audio/index.m3u8\"\n"
      "#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"cc1\",INSTREAM-ID=\"CC1\"\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2000000,RESOLUTION=1280x720,AUDIO=\"aud\"\n"
      "s/SID/720p/index.m3u8\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=800000\r\n"
      "s/SID/360p/index.m3u8?start=1&end=2\r\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=1\n"
      "https://cdn.example/x.m3u8\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2\n"
      "/other/y.m3u8\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI=\"s/SID/720p/iframes.m3u8\"\n"
      "#EXT-X-SESSION-DATA:DATA-ID=\"com.x\",VALUE=\"URI=\\\"a\\\"\"\n";
  EXPECT_EQ(prefix_master_uris(master, "SID"), want);
  EXPECT_EQ(prefix_master_uris("#EXTM3U\nv/index.m3u8", "S"), "#EXTM3U\ns/S/v/index.m3u8");
}

TEST(AccessLog, SessionFields) {
  http::AccessRecord r;
  r.unix_ms = 1796292000123;
  r.client = "127.0.0.1:5000";
  r.method = "GET";
  r.path = "/demo/s/AbCdEfGhIjKlMnOpQrSt-_/720p/seg-1.m4s";
  r.status = 200;
  std::string line = http::access_record_json(r);
  EXPECT_EQ(line.find("\"session\""), std::string::npos) << line;
  r.session = "AbCdEfGhIjKlMnOpQrSt-_";
  r.session_source = "path";
  line = http::access_record_json(r);
  EXPECT_NE(line.find("\"session\":\"AbCdEfGhIjKlMnOpQrSt-_\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"session_source\":\"path\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"path\":\"/demo/s/AbCdEfGhIjKlMnOpQrSt-_/720p/seg-1.m4s\""), std::string::npos) << line;
}

}  // namespace
}  // namespace sigma::origin
