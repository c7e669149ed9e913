#pragma once
// What sigma-origin knows of signed playback (origin/signing.h) while it
// runs: which channels need a token (--signed, --signed-file) and the
// secrets that verify one (--playback-secret). Both files are read again on
// SIGHUP; a reload that fails (unreadable file, short secret) keeps what
// was loaded before, so a mistake never opens a signed channel to all.
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "origin/signing.h"

namespace sigma::origin {

struct PlaybackAuthParams {
  std::string signed_channels;  // "CH,CH", "all" or ""
  std::string signed_file;      // one channel a line ("all" too), '#' comments; "" none
  std::string secret_file;      // load_playback_secrets; "" none
};

class PlaybackAuth {
 public:
  // Usage error (exit 100): a channel is signed and there is no secret
  // file, a file is unreadable, a secret too short, a channel name bad.
  static Result<std::unique_ptr<PlaybackAuth>> open(const PlaybackAuthParams& p);

  // Re-reads both files. On error the previous state stays.
  Status reload();

  bool is_signed(std::string_view channel) const;
  // kMalformed too when no secret is loaded (a token can then never pass).
  TokenCheck check(std::string_view token, std::string_view channel, std::string_view client_ip,
                   int64_t now_unix_s) const;
  // Counts for the log line at start and reload.
  std::string describe() const;

 private:
  struct State {
    std::vector<std::string> secrets;
    bool all = false;
    std::set<std::string, std::less<>> channels;
  };
  explicit PlaybackAuth(PlaybackAuthParams p) : p_(std::move(p)) {}
  Result<std::shared_ptr<const State>> read() const;
  std::shared_ptr<const State> state() const;

  PlaybackAuthParams p_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;
};

// "ip:port", "[v6]:port", "v6:port" (as http::Exchange::client gives it) -> the address.
std::string client_address(std::string_view client);

// A response's Cache-Control for a signed URL: never stored past the
// token's expiry (max-age capped at remaining_s, "immutable" dropped when
// capped), and "private" instead of "public" when the token is bound to an
// address (a shared cache could not check it).
std::string signed_cache_control(std::string_view cc, int64_t remaining_s, bool address_bound);

}  // namespace sigma::origin
