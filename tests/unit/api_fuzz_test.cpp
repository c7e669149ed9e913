// A fuzz run over the API's request routing and body parsing: a few
// thousand requests mutated from valid ones (bytes flipped, inserted,
// cut, spliced with hostile pieces) through match_route, make_call, the
// body -> channel file rendering, the token file parser and the Bearer
// check. Nothing may crash or hang, every refusal is a JSON error with a
// 4xx status, and a rendered channel file never has more lines than
// keys (no value can add a section or a key). Deterministic (a fixed
// seed); a second or two.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>

#include "api/channel_body.h"
#include "api/router.h"
#include "api/tokens.h"

namespace sigma::api {
namespace {

const char* kTargets[] = {
    "/v1/channels", "/v1/channels/news", "/v1/channels/news/start", "/v1/channels/news/stop",
    "/v1/channels/news/stages/package/restart", "/v1/channels/news/key/rotate", "/v1/channels/news/playback-url",
    "/v1/events?channel=news&type=stage.", "/v1/openapi.json", "/v1/channels/%2e%2e%2f", "/v1/channels/a%00b",
};
const char* kBodies[] = {
    R"({"input":"publish","mode":"low","dvr":"20s"})",
    R"({"ttl":"1h","ip":"127.0.0.1"})",
    R"({"thumbnails":true,"thumbnails.every":"2s","archive":"7d"})",
    R"({"a":[1,2,{"b":null}],"c":1e400})",
    "",
};
const char* kPieces[] = {"\r\n", "\n[global]\n", "%0d%0a", "../", "%2F", "\\u0000", "\"", "{", "}", "[", "]", ":", ",",
                         "\xff\xfe", "\xc3\x28", "?", "&", "=", "#", ".command", "exec ", "9999999999999999999999"};

std::string mutate(std::string s, std::mt19937& rng) {
  std::uniform_int_distribution<int> op(0, 4);
  int n = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < n; ++k) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (op(rng)) {
      case 0:
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() & 0xff);
        break;
      case 1: s.insert(pos, 1, static_cast<char>(rng() & 0xff)); break;
      case 2:
        if (pos < s.size()) s.erase(pos, 1 + rng() % 8);
        break;
      case 3: s.insert(pos, kPieces[rng() % (sizeof kPieces / sizeof *kPieces)]); break;
      case 4: s = s.substr(0, pos); break;
    }
  }
  return s;
}

void check_reply(const ApiReply& r) {
  ASSERT_GE(r.status, 400);
  ASSERT_LT(r.status, 500);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  ASSERT_TRUE(j["error"]["code"].is_string());
  ASSERT_EQ(r.body.find('\r'), std::string::npos);
}

TEST(ApiFuzz, RoutingAndBodies) {
  std::mt19937 rng(20261204);
  const char* methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "G\rET"};
  int calls = 0, refused = 0;
  for (int i = 0; i < 6000; ++i) {
    ApiRequest r;
    r.method = methods[rng() % 7];
    r.target = kTargets[rng() % (sizeof kTargets / sizeof *kTargets)];
    r.body = kBodies[rng() % (sizeof kBodies / sizeof *kBodies)];
    if (rng() % 2) r.target = mutate(r.target, rng);
    if (rng() % 2) r.body = mutate(r.body, rng);
    Match m = match_route(r.method, target_path(r.target));
    if (!m.route) {
      ASSERT_TRUE(m.status == 404 || m.status == 405);
      continue;
    }
    auto c = make_call(r, m);
    if (auto* rep = std::get_if<ApiReply>(&c)) {
      check_reply(*rep);
      ++refused;
      continue;
    }
    ++calls;
    const Call& call = std::get<Call>(c);
    if (!call.channel.empty()) {
      ASSERT_TRUE(valid_channel_name(call.channel)) << call.channel;
    }
    if (call.op == Op::kPutChannel) {
      auto e = channel_entries(call.body);
      ASSERT_TRUE(std::holds_alternative<ChannelEntries>(e));
      auto& entries = std::get<ChannelEntries>(e);
      std::string text = render_channel_file(call.channel, entries);
      size_t lines = 0;
      for (char ch : text) lines += ch == '\n';
      ASSERT_EQ(lines, entries.size() + 2) << text;
      ASSERT_EQ(text.find('\r'), std::string::npos);
    }
  }
  EXPECT_GT(calls, 100);
  EXPECT_GT(refused, 100);
}

TEST(ApiFuzz, TokenFileAndBearer) {
  std::mt19937 rng(17);
  std::string good = "ci write " + std::string(64, 'a') + " 2026-12-04T01:00:00Z\n# x\nro read " + std::string(64, 'b') + "\n";
  for (int i = 0; i < 3000; ++i) {
    std::string text = mutate(good, rng);
    auto f = TokenFile::parse(text, "tokens");
    if (!f) {
      EXPECT_EQ(f.status().code(), ExitCode::kUsage);
      continue;
    }
    for (auto& e : f->entries()) ASSERT_TRUE(valid_token_name(e.name));
    ASSERT_EQ(f->match(mutate("sgm_abc", rng)), nullptr);
  }
}

}  // namespace
}  // namespace sigma::api
