#pragma once
// Standard Webhooks signatures (https://www.standardwebhooks.com/):
//   signed content  "<webhook-id>.<webhook-timestamp>.<body>"
//   signature       "v1," + base64(HMAC-SHA256(key, signed content))
//   secret          "whsec_" + base64(key)
// During a rotation the header carries one signature per secret,
// separated by spaces; a receiver accepts any that matches.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/crypto.h"

namespace sigma::hook {

using crypto::base64_decode;
using crypto::base64_encode;

// "whsec_BASE64" -> the key bytes (a secret without the prefix is read as
// base64 too, as the specification's libraries do).
Result<std::string> decode_secret(std::string_view secret);

// "v1,BASE64" for one key.
std::string sign(std::string_view key, std::string_view id, int64_t timestamp_s, std::string_view body);
// The webhook-signature header value for every key, space-separated.
std::string signature_header(const std::vector<std::string>& keys, std::string_view id, int64_t timestamp_s,
                             std::string_view body);

}  // namespace sigma::hook
