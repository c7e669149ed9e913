#include "hook/signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace sigma::hook {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return usage_error("not base64 (a character outside A-Z a-z 0-9 + /)");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return usage_error("not base64 (a length no encoding gives)");
  return out;
}

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
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(content.data()),
       content.size(), mac, &len);
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
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
