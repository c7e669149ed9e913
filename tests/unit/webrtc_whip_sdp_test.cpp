// The WHIP offer check: what it refuses (and says why) and the one codec
// per section it keeps.
#include <gtest/gtest.h>

#include "webrtc/whip_sdp.h"

namespace {

using sigma::webrtc::check_offer;

const char* kChromeLike =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 127\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack pli\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f\r\n"
    "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
    "a=rtpmap:127 H264/90000\r\na=rtcp-fb:127 nack pli\r\n"
    "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=ssrc-group:FID 1 2\r\na=ssrc:1 cname:x\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\na=fingerprint:sha-256 AA:BB\r\n"
    "a=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

TEST(WhipSdp, KeepsOneH264PacketizationMode1AndOpus) {
  auto r = check_offer(kChromeLike);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->video && r->audio && r->bundle);
  EXPECT_EQ(r->video_pt, 127);
  EXPECT_EQ(r->audio_pt, 111);
  EXPECT_NE(r->sdp.find("m=video 9 UDP/TLS/RTP/SAVPF 127\r\n"), std::string::npos);
  EXPECT_NE(r->sdp.find("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"), std::string::npos);
  EXPECT_EQ(r->sdp.find("VP8"), std::string::npos);
  EXPECT_EQ(r->sdp.find("a=rtpmap:102"), std::string::npos);
  EXPECT_EQ(r->sdp.find("ssrc-group:FID"), std::string::npos);
  EXPECT_NE(r->sdp.find("a=rtcp-fb:127 nack pli"), std::string::npos);
}

TEST(WhipSdp, RefusesWithAReason) {
  EXPECT_NE(check_offer("hello").status().message().find("v=0"), std::string::npos);
  EXPECT_NE(check_offer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n").status().message().find("no media"), std::string::npos);
  std::string vp8 = kChromeLike;
  // Only VP8 left in the video section.
  vp8.replace(vp8.find("96 97 102 103 127"), 17, "96 97");
  auto r = check_offer(vp8);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("video in VP8 only"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("H.264"), std::string::npos);
  std::string no_ice = kChromeLike;
  for (size_t p; (p = no_ice.find("a=ice-ufrag:abcd\r\n")) != std::string::npos;) no_ice.erase(p, 18);
  EXPECT_NE(check_offer(no_ice).status().message().find("ICE credentials"), std::string::npos);
}

TEST(WhipSdp, UnbundlesWhenSectionsKeepTheirOwnCredentials) {
  std::string s = kChromeLike;
  s.replace(s.rfind("a=ice-ufrag:abcd"), 16, "a=ice-ufrag:efgh");
  auto r = check_offer(s);
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->bundle);
  EXPECT_EQ(r->sdp.find("a=group:BUNDLE"), std::string::npos);
}

TEST(WhipSdp, TrickleFragments) {
  std::string ufrag;
  auto c = sigma::webrtc::sdpfrag_candidates(
      "a=ice-ufrag:abcd\r\na=ice-pwd:x\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n"
      "a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n",
      ufrag);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], "candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host");
  EXPECT_EQ(ufrag, "abcd");
}

}  // namespace
