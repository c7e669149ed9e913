#include "api/tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "base/fs.h"
#include "base/time.h"
#include "crypto/crypto.h"

namespace sigma::api {

const char* to_string(Scope s) { return s == Scope::kWrite ? "write" : "read"; }

Result<Scope> parse_scope(std::string_view s) {
  if (s == "read") return Scope::kRead;
  if (s == "write") return Scope::kWrite;
  return usage_error("scope: expected read or write, got '" + std::string(s) + "'");
}

bool valid_token_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string new_token() { return "sgm_" + crypto::base64url_encode(crypto::random_bytes(32)); }

std::string token_hash_hex(std::string_view token) { return crypto::hex_encode(crypto::sha256(token)); }

namespace {

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  return true;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t b = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

}  // namespace

Result<TokenFile> TokenFile::parse(const std::string& text, const std::string& origin) {
  TokenFile f;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    // A message never quotes the line: it might hold a token pasted by mistake.
    auto bad = [&](const std::string& why) {
      return usage_error(origin + ":" + std::to_string(line_no) + ": " + why);
    };
    if (w.size() < 3 || w.size() > 4) return bad("expected 'NAME SCOPE SHA256-HEX [CREATED]'");
    if (!valid_token_name(w[0])) return bad("a token name is 1 to 64 of letters, digits, '-', '_', '.'");
    auto scope = parse_scope(w[1]);
    if (!scope) return bad(scope.status().message());
    if (!is_hex64(w[2])) return bad("the third field is the SHA-256 of the token in 64 lowercase hex digits");
    if (f.find(w[0])) return bad("token '" + w[0] + "' is listed twice");
    f.entries_.push_back({w[0], *scope, w[2], w.size() == 4 ? w[3] : ""});
  }
  return f;
}

Result<TokenFile> TokenFile::load(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return TokenFile{};
  auto text = read_file(path);
  if (!text) return usage_error("read token file " + path + ": " + text.status().message());
  return parse(*text, path);
}

const TokenEntry* TokenFile::find(std::string_view name) const {
  for (auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const TokenEntry* TokenFile::match(std::string_view token) const {
  std::string h = token_hash_hex(token);
  const TokenEntry* found = nullptr;
  for (auto& e : entries_)
    if (crypto::constant_time_equal(h, e.hash_hex) && !found) found = &e;
  return found;
}

std::string TokenFile::render() const {
  std::string out = "# sigma-supervisor API tokens: NAME SCOPE SHA256-HEX CREATED (sigma-supervisor(1), token)\n";
  for (auto& e : entries_)
    out += e.name + " " + to_string(e.scope) + " " + e.hash_hex + (e.created.empty() ? "" : " " + e.created) + "\n";
  return out;
}

bool TokenFile::remove(std::string_view name) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if (it->name == name) {
      entries_.erase(it);
      return true;
    }
  return false;
}

Result<std::string> add_token(const std::string& path, const std::string& name, Scope scope) {
  if (!valid_token_name(name)) return usage_error("token name '" + name + "': use 1 to 64 of letters, digits, '-', '_', '.'");
  SIGMA_ASSIGN_OR_RETURN(TokenFile f, TokenFile::load(path));
  if (f.find(name)) return usage_error("token '" + name + "' exists in " + path + " (revoke it first)");
  std::string token = new_token();
  f.add({name, scope, token_hash_hex(token), iso8601_utc(unix_ms_now())});
  SIGMA_RETURN_IF_ERROR(write_file_durable(path, f.render(), 0600));
  return token;
}

Status revoke_token(const std::string& path, const std::string& name) {
  SIGMA_ASSIGN_OR_RETURN(TokenFile f, TokenFile::load(path));
  if (!f.remove(name)) return usage_error("no token '" + name + "' in " + path);
  return write_file_durable(path, f.render(), 0600);
}

}  // namespace sigma::api
