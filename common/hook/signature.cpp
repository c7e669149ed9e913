#include "hook/signature.h"

#include "crypto/crypto.h"

namespace sigma::hook {
Result<std::string> decode_secret(std::string_view s) {
  if (s.substr(0, 6) == "whsec_") s.remove_prefix(6);
  if (s.empty()) return usage_error("an empty secret");
  SIGMA_ASSIGN_OR_RETURN(std::string key, base64_decode(s));
  if (key.size() < 16) return usage_error("a secret of " + std::to_string(key.size()) + " bytes (at least 16: whsec_ and base64 of 24 to 64 random bytes)");
  return key;
}

std::string sign(std::string_view key, std::string_view id, int64_t ts, std::string_view body) {
  std::string content;
  std::string t = std::to_string(ts);
  content.reserve(id.size() + t.size() + body.size() + 2);
  content.append(id).append(".").append(t).append(".").append(body);
  return "v1," + base64_encode(crypto::hmac_sha256(key, content));
}

std::string signature_header(const std::vector<std::string>& keys, std::string_view id, int64_t ts,
                             std::string_view body) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ' ';
    out += sign(k, id, ts, body);
  }
  return out;
}

}  // namespace sigma::hook
