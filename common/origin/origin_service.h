#pragma once
// What sigma-origin answers: files of the root with the right type, range
// and cache headers; LL-HLS blocking playlist reload, preload-hint parts and
// delta updates (RFC 8216bis 6.2.5); the channel list and the watch page.
// Held requests wait in a registry keyed by the file they wait for; the
// directory watcher wakes them, one sweep timer bounds their wait, and a
// client that hangs up leaves the registry at once.
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "http/server.h"
#include "http/url.h"
#include "origin/file_store.h"
#include "origin/playlist_index.h"

namespace sigma::origin {

class CatchupService;
class PlaybackAuth;

struct OriginConfig {
  // Longest hold of a blocking request; 0: three target durations of the
  // playlist (RFC 8216bis), at least 1 s, at most 30 s.
  std::chrono::milliseconds hold_timeout{0};
  // Hold of a request for a hinted part not yet written.
  std::chrono::milliseconds part_hold_timeout{0};
  // A plain request (no _HLS_msn) for an LL-HLS media playlist is answered
  // when the next part lands, at most 1.5 part targets later: players place
  // their start from the time they receive the playlist, so a playlist
  // that is already one part old would add that age to the viewer's
  // latency for the whole session.
  bool fresh_join = true;
  // A master playlist asked for without a session starts one (its URIs
  // get s/SID/, origin/sessions.h); off: masters are answered as they are.
  bool sessions = true;
};

class OriginService {
 public:
  // web: the watch page's files (index.html, watch.js, hls.js), may be null.
  OriginService(boost::asio::io_context& ioc, FileStore& store, FileStore* web, OriginConfig cfg);
  ~OriginService();
  // Stops the timeout sweep (so the io_context can run out).
  void stop();

  void handle(const std::shared_ptr<http::Exchange>& ex);
  // From the directory watcher: rel is a complete file now.
  void file_ready(const std::string& rel);
  // Events were lost (or a directory appeared): every held request looks again.
  void wake_all();
  // Answers every held request (503) so a stop does not wait for timeouts.
  void release_all();
  size_t held() const;
  // The server whose connections /_status counts (may stay unset).
  void set_server(const http::Server* server) { server_ = server; }
  // Where catch-up URLs go (may stay unset: none are answered).
  void set_catchup(CatchupService* c) { catchup_ = c; }
  // Signed playback (may stay unset: no channel is signed, and a /CH/t/TOKEN/
  // path is refused as a token this origin cannot check).
  void set_auth(const PlaybackAuth* a) { auth_ = a; }

  struct Snapshot;
  struct Waiter;

 private:
  std::shared_ptr<const Snapshot> load(const std::string& rel);
  void serve_file(const std::shared_ptr<http::Exchange>& ex, const std::string& rel, const FileData& data,
                  std::string_view cache_control);
  void serve_playlist(const std::shared_ptr<http::Exchange>& ex, const std::string& rel, const http::Target& t);
  void serve_missing(const std::shared_ptr<http::Exchange>& ex, const std::string& rel);
  void serve_channels(const std::shared_ptr<http::Exchange>& ex);
  void serve_status(const std::shared_ptr<http::Exchange>& ex);
  void serve_web(const std::shared_ptr<http::Exchange>& ex, const std::string& name);
  // A request of a signed channel (or with a token): false when answered
  // with a 403. A good token makes its viewer the session and caps the
  // answer's caching at its expiry.
  bool admit(const std::shared_ptr<http::Exchange>& ex, const std::string& rel, const std::optional<std::string>& token);
  void hold(const std::shared_ptr<Waiter>& w, std::chrono::milliseconds timeout);
  void sweep();
  void unregister(const Waiter* w);
  void abandon(const std::shared_ptr<Waiter>& w);
  bool hinted(const std::string& rel);
  void finish(const std::shared_ptr<Waiter>& w, http::Response res);
  // Answers w if snap is what it waits for (the file changed between the
  // request's first look and its registration).
  void recheck(const std::shared_ptr<Waiter>& w, const Snapshot& snap);
  void respond(const std::shared_ptr<Waiter>& w, const Snapshot& snap);
  template <class Build>
  std::pair<std::shared_ptr<const std::string>, uint64_t> cached_wire(const Snapshot& snap, int k, Build build);
  // gzip: the client accepts it (the compressed form is made once per
  // version of the playlist).
  http::Response playlist_response(const Snapshot& snap, const BlockingQuery& q, bool head, bool gzip);

  boost::asio::io_context& ioc_;
  FileStore& store_;
  FileStore* web_;
  OriginConfig cfg_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::unordered_map<const Waiter*, std::shared_ptr<Waiter>>> waiters_;
  size_t held_ = 0;
  size_t held_parts_ = 0;  // of held_, requests for a hinted part
  // No held request is due before this (a bound: answered ones are not
  // taken off it).
  std::chrono::steady_clock::time_point earliest_deadline_ = std::chrono::steady_clock::time_point::max();
  // Since start: held requests that ended at their timeout, and those
  // whose client hung up first.
  uint64_t timed_out_ = 0;
  uint64_t hung_up_ = 0;
  const http::Server* server_ = nullptr;
  CatchupService* catchup_ = nullptr;
  const PlaybackAuth* auth_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> playlists_;
  struct Hints {
    bool dirty = true;
    std::set<std::string> parts;
  };
  std::unordered_map<std::string, Hints> hints_;  // by directory

  static constexpr std::chrono::milliseconds kSweep{100};
  boost::asio::steady_timer sweeper_;
  bool stopped_ = false;  // on the sweeper's strand
};

}  // namespace sigma::origin
