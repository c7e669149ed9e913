// libFuzzer over the control API's parsing (common/api): the input is
// "METHOD\nTARGET\nBODY"; it goes through route matching, the call's
// checks (names, query, JSON body), the body -> channel file rendering,
// and the token file parser with a Bearer check. Nothing may crash
// (ASan/UBSan), a refusal is a 4xx JSON error, and a rendered channel
// file has one line per key (no value can add a section or a key).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "api/channel_body.h"
#include "api/router.h"
#include "api/tokens.h"

using namespace sigma::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t a = in.find('\n');
  size_t b = a == std::string::npos ? std::string::npos : in.find('\n', a + 1);
  ApiRequest r;
  r.method = in.substr(0, a);
  r.target = a == std::string::npos ? "" : in.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  r.body = b == std::string::npos ? "" : in.substr(b + 1);

  Match m = match_route(r.method, target_path(r.target));
  if (m.route) {
    auto c = make_call(r, m);
    if (auto* rep = std::get_if<ApiReply>(&c)) {
      auto j = nlohmann::json::parse(rep->body, nullptr, false);
      if (rep->status < 400 || rep->status >= 500 || j.is_discarded() || !j["error"]["code"].is_string()) std::abort();
    } else {
      const Call& call = std::get<Call>(c);
      if (!call.channel.empty() && !valid_channel_name(call.channel)) std::abort();
      if (call.op == Op::kPutChannel) {
        auto e = channel_entries(call.body);
        if (auto* entries = std::get_if<ChannelEntries>(&e)) {
          std::string text = render_channel_file(call.channel, *entries);
          size_t lines = 0;
          for (char ch : text) lines += ch == '\n';
          if (lines != entries->size() + 2 || text.find('\r') != std::string::npos) std::abort();
        }
      }
    }
  }
  auto f = TokenFile::parse(r.body, "tokens");
  if (f) {
    for (auto& e : f->entries())
      if (!valid_token_name(e.name)) std::abort();
    if (f->match(r.target) != nullptr && r.target.rfind("sgm_", 0) != 0) std::abort();
  }
  return 0;
}
