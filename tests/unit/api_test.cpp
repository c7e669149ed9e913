// The control API's parts without a socket: tokens, authentication and
// its rate limit, request routing and checks, body -> channel file, the
// OpenAPI document against the router, the event filter.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/channel_body.h"
#include "api/event_hub.h"
#include "api/openapi.h"
#include "api/rate_limit.h"
#include "api/router.h"
#include "api/tokens.h"
#include "base/fs.h"

namespace sigma::api {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/api_test.XXXXXX";
  return mkdtemp(tmpl);
}

TEST(ApiTokens, NewTokenShapeAndFileHoldsOnlyTheHash) {
  std::string dir = temp_dir(), file = dir + "/tokens";
  auto t = add_token(file, "ci", Scope::kWrite);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->rfind("sgm_", 0), 0u);
  EXPECT_EQ(t->size(), 4u + 43u);
  auto text = read_file(file);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(text->find(*t), std::string::npos);
  EXPECT_EQ(text->find(t->substr(4)), std::string::npos);
  EXPECT_NE(text->find(token_hash_hex(*t)), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = add_token(file, "ci", Scope::kRead);
  EXPECT_FALSE(again.is_ok());
  auto second = add_token(file, "dash", Scope::kRead);
  ASSERT_TRUE(second.is_ok());
  EXPECT_NE(*second, *t);
  auto f = TokenFile::load(file);
  ASSERT_TRUE(f.is_ok());
  ASSERT_EQ(f->entries().size(), 2u);
  ASSERT_NE(f->match(*t), nullptr);
  EXPECT_EQ(f->match(*t)->name, "ci");
  EXPECT_EQ(f->match(*second)->scope, Scope::kRead);
  EXPECT_EQ(f->match("sgm_nope"), nullptr);
  EXPECT_EQ(f->match(""), nullptr);
  ASSERT_TRUE(revoke_token(file, "ci").is_ok());
  f = TokenFile::load(file);
  EXPECT_EQ(f->match(*t), nullptr);
  EXPECT_FALSE(revoke_token(file, "ci").is_ok());
  std::filesystem::remove_all(dir);
}

TEST(ApiTokens, FileErrorsNameTheLineNotTheContent) {
  auto bad = TokenFile::parse("# c\nci write sgm_pasted_a_clear_token_here\n", "tokens");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("tokens:2:"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("sgm_pasted"), std::string::npos);
  EXPECT_FALSE(TokenFile::parse("ci admin " + std::string(64, 'a') + "\n", "t").is_ok());
  EXPECT_FALSE(TokenFile::parse("ci read " + std::string(64, 'a') + "\nci read " + std::string(64, 'b') + "\n", "t").is_ok());
  EXPECT_TRUE(TokenFile::parse("\n# only comments\n", "t")->empty());
  EXPECT_TRUE(TokenFile::load("/nonexistent/dir/tokens")->empty());
}

TEST(ApiRateLimit, BlocksAfterTheLimitAndForgetsAfterTheWindow) {
  FailureLimiter l(3, 1000);
  EXPECT_EQ(l.blocked_for_s("a", 0), 0);
  l.failed("a", 0);
  l.failed("a", 100);
  EXPECT_EQ(l.blocked_for_s("a", 200), 0);
  l.failed("a", 200);
  EXPECT_GT(l.blocked_for_s("a", 300), 0);
  EXPECT_EQ(l.blocked_for_s("b", 300), 0);  // per address
  EXPECT_EQ(l.blocked_for_s("a", 1001), 0);  // the first failure left the window
  FailureLimiter small(1, 1000, 2);
  for (int i = 0; i < 100; ++i) small.failed("x" + std::to_string(i), i);
  EXPECT_GT(small.blocked_for_s("x99", 100), 0);  // bounded memory keeps the newest
  EXPECT_EQ(address_of("127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(address_of("[::1]:5555"), "::1");
}

struct AuthFixture : ::testing::Test {
  void SetUp() override {
    dir = temp_dir();
    file = dir + "/tokens";
    write = *add_token(file, "w", Scope::kWrite);
    read = *add_token(file, "r", Scope::kRead);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  ApiRequest req(const std::string& auth) { return {"GET", "/v1/channels", auth, "10.0.0.1:1234", ""}; }
  std::string dir, file, write, read;
};

TEST_F(AuthFixture, ScopesMissingAndWrongTokens) {
  Authenticator a({file, 3, 60'000});
  std::string who;
  auto r = a.check(req(""), Scope::kRead, who, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401);
  bool www = false;
  for (auto& [k, v] : r->headers) www = www || (k == "WWW-Authenticate" && v.rfind("Bearer", 0) == 0);
  EXPECT_TRUE(www);
  EXPECT_FALSE(a.check(req("Bearer " + read), Scope::kRead, who, 0).has_value());
  EXPECT_EQ(who, "r");
  EXPECT_FALSE(a.check(req("bearer  " + write), Scope::kWrite, who, 0).has_value());
  EXPECT_EQ(who, "w");
  EXPECT_EQ(a.check(req("Bearer " + read), Scope::kWrite, who, 0)->status, 403);
  EXPECT_EQ(a.check(req("Basic " + write), Scope::kRead, who, 0)->status, 401);
  // Missing headers are not guesses; wrong tokens are (the Basic one above
  // too): three of them block.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.check(req(""), Scope::kRead, who, 0)->status, 401);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(a.check(req("Bearer sgm_wrong"), Scope::kRead, who, 10)->status, 401);
  auto blocked = a.check(req("Bearer " + write), Scope::kRead, who, 20);
  ASSERT_TRUE(blocked.has_value());
  EXPECT_EQ(blocked->status, 429);
  EXPECT_FALSE(a.check(req("Bearer " + write), Scope::kRead, who, 70'000).has_value());
  // A revoked token stops working at once (the file is re-read).
  ASSERT_TRUE(revoke_token(file, "r").is_ok());
  EXPECT_EQ(a.check(req("Bearer " + read), Scope::kRead, who, 80'000)->status, 401);
  EXPECT_TRUE(*a.has_tokens());
}

TEST(ApiRouter, RoutesParametersAndMethods) {
  auto m = match_route("GET", "/v1/channels/news");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->op, Op::kGetChannel);
  EXPECT_EQ(m.channel, "news");
  m = match_route("POST", "/v1/channels/news/stages/package/restart");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.stage, "package");
  EXPECT_EQ(m.route->scope, Scope::kWrite);
  m = match_route("PATCH", "/v1/channels/news");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.status, 405);
  EXPECT_NE(m.allow.find("PUT"), std::string::npos);
  EXPECT_EQ(match_route("GET", "/v1/nothing").status, 404);
  // %2F is part of the name, not a separator, and the name is refused.
  m = match_route("GET", "/v1/channels/..%2F..%2Fetc");
  ASSERT_NE(m.route, nullptr);
  auto c = make_call({"GET", "/v1/channels/..%2F..%2Fetc", "", "", ""}, m);
  ASSERT_TRUE(std::holds_alternative<ApiReply>(c));
  EXPECT_EQ(std::get<ApiReply>(c).status, 400);
  EXPECT_NE(std::get<ApiReply>(c).body.find("bad_name"), std::string::npos);
  m = match_route("GET", "/v1/channels/..");
  c = make_call({"GET", "/v1/channels/..", "", "", ""}, m);
  EXPECT_EQ(std::get<ApiReply>(c).status, 400);
  m = match_route("GET", "/v1/channels/a%0d%0aSet-Cookie:x");
  c = make_call({"GET", "/v1/channels/a%0d%0aSet-Cookie:x", "", "", ""}, m);
  ASSERT_TRUE(std::holds_alternative<ApiReply>(c));
  auto& rep = std::get<ApiReply>(c);
  EXPECT_EQ(rep.status, 400);
  EXPECT_EQ(rep.body.find('\r'), std::string::npos);
  EXPECT_TRUE(rep.headers.empty());
}

TEST(ApiRouter, Bodies) {
  auto put = [](const std::string& body) {
    ApiRequest r{"PUT", "/v1/channels/news", "", "", body};
    return make_call(r, match_route("PUT", "/v1/channels/news"));
  };
  auto code = [](const std::variant<Call, ApiReply>& v) {
    if (std::holds_alternative<Call>(v)) return std::string("ok");
    return nlohmann::json::parse(std::get<ApiReply>(v).body)["error"]["code"].get<std::string>();
  };
  EXPECT_EQ(code(put(R"({"input":"publish","mode":"low","dvr":20,"record":false})")), "ok");
  EXPECT_EQ(code(put("{")), "bad_json");
  EXPECT_EQ(code(put("")), "bad_json");
  EXPECT_EQ(code(put("[1]")), "bad_json");
  EXPECT_EQ(code(put(R"({"mode":{"x":1}})")), "bad_field");
  EXPECT_EQ(code(put(R"({"mode":null})")), "bad_field");
  EXPECT_EQ(code(put(R"({"mode":1.5})")), "bad_field");
  EXPECT_EQ(code(put(R"({"Mode":"low"})")), "bad_field");
  EXPECT_EQ(code(put(R"({"mode":"low\n[global]\nrtmp = off"})")), "bad_field");
  EXPECT_EQ(code(put(R"({"package.command":"sh -c x"})")), "forbidden_field");
  EXPECT_EQ(code(put(R"({"input":"exec sh -c x"})")), "forbidden_field");
  EXPECT_EQ(code(put(R"({"input":"pull rtmp://h/x"})")), "ok");
  ApiRequest r{"POST", "/v1/channels/news/stop", "", "", "x"};
  EXPECT_EQ(code(make_call(r, match_route("POST", "/v1/channels/news/stop"))), "bad_request");
  ApiRequest p{"POST", "/v1/channels/news/playback-url", "", "", R"({"ttl":"1h","colour":"red"})"};
  EXPECT_EQ(code(make_call(p, match_route("POST", "/v1/channels/news/playback-url"))), "bad_field");
  ApiRequest e{"GET", "/v1/events?channel=../x", "", "", ""};
  EXPECT_EQ(code(make_call(e, match_route("GET", "/v1/events"))), "bad_name");
}

TEST(ApiChannelBody, RendersTheChannelFile) {
  auto e = channel_entries(nlohmann::json::parse(R"({"mode":"low","input":"publish","dvr":"20s","thumbnails":true})"));
  ASSERT_TRUE(std::holds_alternative<ChannelEntries>(e));
  EXPECT_EQ(render_channel_file("news", std::get<ChannelEntries>(e)),
            "# Written by the sigma-supervisor API; PUT replaces it whole.\n"
            "[channel news]\n"
            "dvr = 20s\n"
            "input = publish\n"
            "mode = low\n"
            "thumbnails = yes\n");
  EXPECT_TRUE(valid_channel_name("a.b-c_d"));
  EXPECT_FALSE(valid_channel_name(".."));
  EXPECT_FALSE(valid_channel_name("a/b"));
  EXPECT_FALSE(valid_channel_name("-x"));
  EXPECT_FALSE(valid_channel_name(std::string(65, 'a')));
}

TEST(ApiOpenApi, EveryRouteIsInTheDocument) {
  auto doc = nlohmann::json::parse(openapi_document(), nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.", 0), 0u);
  for (auto& r : routes()) {
    std::string method = r.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    ASSERT_TRUE(doc["paths"].contains(r.path)) << r.path;
    EXPECT_TRUE(doc["paths"][r.path].contains(method)) << r.method << " " << r.path;
  }
  EXPECT_TRUE(doc["paths"].contains("/healthz"));
  // And nothing in the document that the router does not know.
  for (auto& [path, item] : doc["paths"].items()) {
    if (path == "/healthz") continue;
    for (auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      bool known = false;
      for (auto& r : routes()) {
        std::string m = r.method;
        for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        known = known || (path == r.path && m == method);
      }
      EXPECT_TRUE(known) << method << " " << path;
    }
  }
}

TEST(ApiEvents, FilterAndMessages) {
  nlohmann::json e = {{"id", "1"}, {"type", "stage.started"}, {"channel", "news"}};
  EXPECT_TRUE(EventFilter{}.accepts(e));
  EXPECT_TRUE((EventFilter{"news", "stage."}.accepts(e)));
  EXPECT_TRUE((EventFilter{"", "stage.started"}.accepts(e)));
  EXPECT_FALSE((EventFilter{"", "stage.exited"}.accepts(e)));
  EXPECT_FALSE((EventFilter{"other", ""}.accepts(e)));
  EXPECT_EQ(sse_message(e), "id: 1\nevent: stage.started\ndata: " + e.dump() + "\n\n");
  nlohmann::json evil = {{"type", "x\nevent: y"}};
  EXPECT_EQ(sse_message(evil).find("event: y\n"), std::string::npos);
  EXPECT_EQ(http_chunk("abc"), "3\r\nabc\r\n");
}

TEST(ApiEvents, ASlowSubscriberIsDroppedNotWaitedFor) {
  EventHub hub(60'000, 1024);
  auto slow = hub.subscribe({}, "slow");
  ASSERT_NE(slow, nullptr);
  nlohmann::json e = {{"type", "segment.written"}, {"pad", std::string(300, 'x')}};
  for (int i = 0; i < 20; ++i) hub.publish(e);  // nobody reads: must not block
  EXPECT_EQ(hub.subscribers(), 0u);
  bool ended = false, ok = true;
  // What was queued, then the cut end.
  for (int i = 0; i < 100 && !ended; ++i)
    slow->next([&](const std::optional<std::string>& chunk, bool k) {
      if (!chunk) {
        ended = true;
        ok = k;
      }
    });
  EXPECT_TRUE(ended);
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace sigma::api
