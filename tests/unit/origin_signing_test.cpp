#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "crypto/crypto.h"
#include "origin/signing.h"

using namespace sigma::origin;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-current";
const std::string kOld = "fedcba9876543210fedcba9876543210-previous";
constexpr int64_t kNow = 1800000000;

PlaybackGrant grant(std::string ip = "", std::string viewer = "alice") {
  PlaybackGrant g;
  g.channel = "demo";
  g.expires_unix_s = kNow + 3600;
  g.ip = std::move(ip);
  g.viewer = std::move(viewer);
  return g;
}

TokenError error_of(const std::string& token, std::string_view channel = "demo", std::string_view ip = "10.0.0.1",
                    int64_t now = kNow) {
  auto c = check_playback_token({kSecret}, token, channel, ip, now);
  EXPECT_FALSE(c.grant.has_value()) << token;
  return c.error;
}

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/sigma-signing-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Signing, MintsATokenThatVerifies) {
  std::string t = mint_playback_token(kSecret, grant());
  ASSERT_FALSE(t.empty());
  EXPECT_EQ(t.find('/'), std::string::npos);
  for (char c : t) EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') << t;
  EXPECT_EQ(t.rfind("alice.", 0), 0u) << "the viewer id leads, in clear";
  auto g = verify_playback_token({kSecret}, t, "demo", "192.0.2.7", kNow);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  EXPECT_EQ(g->viewer, "alice");
  EXPECT_EQ(g->expires_unix_s, kNow + 3600);
  EXPECT_EQ(g->ip, "");
  EXPECT_EQ(g->channel, "demo");
  EXPECT_EQ(signed_playback_path("demo", t), "/demo/t/" + t + "/master.m3u8");
}

TEST(Signing, MintsARandomViewerWhenNoneIsGiven) {
  std::string a = mint_playback_token(kSecret, grant("", "")), b = mint_playback_token(kSecret, grant("", ""));
  auto ga = verify_playback_token({kSecret}, a, "demo", "", kNow);
  auto gb = verify_playback_token({kSecret}, b, "demo", "", kNow);
  ASSERT_TRUE(ga.is_ok() && gb.is_ok());
  EXPECT_EQ(ga->viewer.size(), 22u);
  EXPECT_TRUE(valid_viewer_id(ga->viewer));
  EXPECT_NE(ga->viewer, gb->viewer);
}

TEST(Signing, RefusesBadGrants) {
  EXPECT_EQ(mint_playback_token(kSecret, grant("", "has space")), "");
  EXPECT_EQ(mint_playback_token(kSecret, grant("", "dot.ted")), "");
  EXPECT_EQ(mint_playback_token(kSecret, grant("", std::string(65, 'a'))), "");
  EXPECT_EQ(mint_playback_token(kSecret, grant("not-an-ip")), "");
  EXPECT_TRUE(valid_grant_address(""));
  EXPECT_TRUE(valid_grant_address("::1"));
  EXPECT_FALSE(valid_grant_address("300.1.1.1"));
}

TEST(Signing, TamperingAnyFieldBreaksTheSignature) {
  std::string t = mint_playback_token(kSecret, grant("10.0.0.1"));
  ASSERT_TRUE(verify_playback_token({kSecret}, t, "demo", "10.0.0.1", kNow).is_ok());
  size_t d1 = t.find('.'), d2 = t.find('.', d1 + 1), d3 = t.find('.', d2 + 1);
  std::string viewer = t.substr(0, d1), expiry = t.substr(d1 + 1, d2 - d1 - 1), addr = t.substr(d2 + 1, d3 - d2 - 1),
              mac = t.substr(d3 + 1);
  auto join = [](const std::string& v, const std::string& e, const std::string& a, const std::string& m) {
    return v + "." + e + "." + a + "." + m;
  };
  EXPECT_EQ(error_of(join("mallory", expiry, addr, mac)), TokenError::kBadSignature);
  EXPECT_EQ(error_of(join(viewer, std::to_string(kNow + 999999), addr, mac)), TokenError::kBadSignature);
  // Another address (10.0.0.2), and no address at all (valid anywhere).
  EXPECT_EQ(error_of(join(viewer, expiry, sigma::crypto::base64url_encode(std::string("\x0a\x00\x00\x02", 4)), mac),
                     "demo", "10.0.0.2"),
            TokenError::kBadSignature);
  EXPECT_EQ(error_of(join(viewer, expiry, "", mac)), TokenError::kBadSignature);
  std::string flipped = mac;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(error_of(join(viewer, expiry, addr, flipped)), TokenError::kBadSignature);
  // Another channel's token, another secret.
  EXPECT_EQ(error_of(t, "other"), TokenError::kBadSignature);
  EXPECT_FALSE(check_playback_token({kOld}, t, "demo", "10.0.0.1", kNow).grant);
}

TEST(Signing, MalformedTokens) {
  std::string t = mint_playback_token(kSecret, grant());
  for (std::string bad : {std::string(""), std::string("x"), std::string("a.b.c"), t + ".x", t.substr(0, t.size() - 1),
                          t + "A", std::string("al ice") + t.substr(5), std::string(300, 'a'),
                          "alice.01800003600.." + t.substr(t.rfind('.') + 1),
                          "alice.-5.." + t.substr(t.rfind('.') + 1), "alice.1800003600.!!." + t.substr(t.rfind('.') + 1),
                          // a non-canonical base64url address (trailing bits set)
                          "alice.1800003600.CgAAAb." + t.substr(t.rfind('.') + 1)})
    EXPECT_EQ(error_of(bad), TokenError::kMalformed) << bad;
}

TEST(Signing, ExpiryEdge) {
  std::string t = mint_playback_token(kSecret, grant());
  EXPECT_TRUE(verify_playback_token({kSecret}, t, "demo", "", kNow + 3599).is_ok());
  EXPECT_EQ(error_of(t, "demo", "", kNow + 3600), TokenError::kExpired);
  EXPECT_EQ(error_of(t, "demo", "", kNow + 7200), TokenError::kExpired);
  auto r = verify_playback_token({kSecret}, t, "demo", "", kNow + 3600);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("expired"), std::string::npos);
  EXPECT_EQ(r.status().message().find(t), std::string::npos);
}

TEST(Signing, AddressBinding) {
  std::string t = mint_playback_token(kSecret, grant("127.0.0.1"));
  EXPECT_TRUE(verify_playback_token({kSecret}, t, "demo", "127.0.0.1", kNow).is_ok());
  EXPECT_TRUE(verify_playback_token({kSecret}, t, "demo", "::ffff:127.0.0.1", kNow).is_ok());
  EXPECT_EQ(error_of(t, "demo", "127.0.0.2"), TokenError::kWrongAddress);
  EXPECT_EQ(error_of(t, "demo", ""), TokenError::kWrongAddress);
  std::string v6 = mint_playback_token(kSecret, grant("2001:db8::1"));
  auto g = verify_playback_token({kSecret}, v6, "demo", "2001:db8:0::1", kNow);
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->ip, "2001:db8::1");
  EXPECT_EQ(error_of(v6, "demo", "2001:db8::2"), TokenError::kWrongAddress);
}

TEST(Signing, RotationAcceptsCurrentAndPrevious) {
  std::string old_token = mint_playback_token(kOld, grant());
  std::string new_token = mint_playback_token(kSecret, grant());
  std::vector<std::string> both = {kSecret, kOld};
  EXPECT_TRUE(verify_playback_token(both, old_token, "demo", "", kNow).is_ok());
  EXPECT_TRUE(verify_playback_token(both, new_token, "demo", "", kNow).is_ok());
  EXPECT_FALSE(verify_playback_token({kSecret}, old_token, "demo", "", kNow).is_ok());
  EXPECT_FALSE(verify_playback_token({}, new_token, "demo", "", kNow).is_ok());
}

TEST(Signing, SecretsFile) {
  std::string p = write_temp("# current\n" + kSecret + "\n\n  " + kOld + "  \r\n");
  auto s = load_playback_secrets(p);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0], kSecret);
  EXPECT_EQ((*s)[1], kOld);
  std::remove(p.c_str());

  std::string short_one = write_temp(kSecret + "\nshort-secret\n");
  auto r = load_playback_secrets(short_one);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), sigma::ExitCode::kUsage);
  EXPECT_NE(r.status().message().find(":2:"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("short-secret"), std::string::npos) << "never quotes a secret";
  std::remove(short_one.c_str());

  std::string empty = write_temp("# nothing\n\n");
  EXPECT_FALSE(load_playback_secrets(empty).is_ok());
  std::remove(empty.c_str());
  EXPECT_EQ(load_playback_secrets("/nonexistent/secret").status().code(), sigma::ExitCode::kUsage);
}

TEST(Signing, StripPathToken) {
  auto p = strip_path_token("demo/t/abc.1.x.y/720p/index.m3u8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->token, "abc.1.x.y");
  EXPECT_EQ(p->rel, "demo/720p/index.m3u8");
  p = strip_path_token("demo/t/abc/master.m3u8");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rel, "demo/master.m3u8");
  p = strip_path_token("demo/t/abc");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->rel, "demo");
  EXPECT_FALSE(strip_path_token("demo/master.m3u8"));
  EXPECT_FALSE(strip_path_token("demo/tt/x/y"));
  EXPECT_FALSE(strip_path_token("_player/t/x/y"));
  EXPECT_FALSE(strip_path_token("t"));
}

TEST(Signing, RedactsTokensInPathsAndReferers) {
  std::string t = mint_playback_token(kSecret, grant("127.0.0.1"));
  EXPECT_EQ(redact_path_token("/demo/t/" + t + "/720p/a-1.2.m4s"), "/demo/t/alice.REDACTED/720p/a-1.2.m4s");
  EXPECT_EQ(redact_path_token("/demo/t/" + t), "/demo/t/alice.REDACTED");
  EXPECT_EQ(redact_path_token("/demo/t/" + std::string(50, 'x') + "/a"), "/demo/t/REDACTED/a");
  EXPECT_EQ(redact_path_token("/demo/t/alice.REDACTED/a"), "/demo/t/alice.REDACTED/a");
  EXPECT_EQ(redact_path_token("/t/master.m3u8"), "/t/master.m3u8");
  EXPECT_EQ(redact_path_token("/demo/720p/index.m3u8"), "/demo/720p/index.m3u8");
  std::string ref = "http://h/_player/?src=%2Fdemo%2Ft%2F" + t + "%2Fmaster.m3u8&x=1";
  std::string red = redact_path_token(ref);
  EXPECT_EQ(red.find(t), std::string::npos) << red;
  EXPECT_EQ(red, "http://h/_player/?src=%2Fdemo%2Ft%2Falice.REDACTED%2Fmaster.m3u8&x=1");
  std::string ref2 = "http://h/x.html?u=/demo/t/" + t + "/master.m3u8";
  EXPECT_EQ(redact_path_token(ref2), "http://h/x.html?u=/demo/t/alice.REDACTED/master.m3u8");
}
