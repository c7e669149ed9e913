#pragma once
// API tokens. The token file holds one token a line,
//   NAME SCOPE SHA256-HEX [CREATED]
// ('#' starts a comment): the SHA-256 of the token, never the token. A
// token is "sgm_" + base64url(32 random bytes); it is shown once, by
// `sigma-supervisor token new`, and found again by hashing what a client
// presents and comparing with every stored hash in constant time.
#include <string>
#include <string_view>
#include <vector>

#include "api/api_types.h"
#include "base/status.h"

namespace sigma::api {

Result<Scope> parse_scope(std::string_view s);

struct TokenEntry {
  std::string name;
  Scope scope = Scope::kRead;
  std::string hash_hex;  // 64 lowercase hex digits
  std::string created;   // ISO 8601, may be ""
};

// [A-Za-z0-9_.-], 1..64 characters.
bool valid_token_name(std::string_view name);
// "sgm_" + 43 base64url characters.
std::string new_token();
std::string token_hash_hex(std::string_view token);

class TokenFile {
 public:
  // A missing file is an empty one (no token: the API refuses all).
  static Result<TokenFile> load(const std::string& path);
  static Result<TokenFile> parse(const std::string& text, const std::string& origin);
  const std::vector<TokenEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  const TokenEntry* find(std::string_view name) const;
  // The entry whose hash is the presented token's; nullptr when none. Every
  // entry is compared, in constant time, whatever matched before.
  const TokenEntry* match(std::string_view token) const;
  std::string render() const;
  void add(TokenEntry e) { entries_.push_back(std::move(e)); }
  bool remove(std::string_view name);

 private:
  std::vector<TokenEntry> entries_;
};

// `token new`: a new token NAME with SCOPE appended to the file at path
// (created mode 0600, rewritten atomically); returns the token. A name
// already there is a usage error.
Result<std::string> add_token(const std::string& path, const std::string& name, Scope scope);
Status revoke_token(const std::string& path, const std::string& name);

}  // namespace sigma::api
