#pragma once
// The one owner of OpenSSL in Sigma: hashes, HMAC, random bytes and the
// encodings secrets travel in. Webhook signatures (hook), API tokens (api)
// and signed playback URLs (origin) are built on these, not on OpenSSL.
#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma::crypto {

// RFC 4648 base64 with the standard alphabet and '=' padding.
std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding optional; anything else is an error.
Result<std::string> base64_decode(std::string_view text);
// RFC 4648 section 5 (URL and file-name safe: '-' '_'), no padding.
std::string base64url_encode(std::string_view bytes);
Result<std::string> base64url_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);

// Raw digests (32 bytes).
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);

// Bytes from OpenSSL's CSPRNG (RAND_bytes); aborts the process if it fails,
// as nothing safe can follow.
std::string random_bytes(size_t n);

// Equal length and equal bytes, in time that depends only on the lengths
// (CRYPTO_memcmp): for comparing a presented secret with a stored one.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace sigma::crypto
