#pragma once
// The sessionizer of sigma-stats (definitions in sigma-stats(1)): access-log
// lines in, viewer sessions and per-minute counters out. It knows no
// SQLite: what changed since the last take() (sessions touched or closed,
// counter deltas, new unique viewers, new channels) is handed to the Store,
// which writes it in the same transaction as the read position. Its result
// depends only on the lines and their order, never on how they were
// batched, so a run killed and resumed from its last commit ends where an
// uninterrupted one does.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stats/log_line.h"

namespace sigma::stats {

struct Key {
  uint64_t a = 0, b = 0;
  bool operator==(const Key& o) const { return a == o.a && b == o.b; }
};
struct KeyHash {
  size_t operator()(const Key& k) const { return static_cast<size_t>(k.a ^ (k.b * 0x9E3779B97F4A7C15ULL)); }
};

// Counters per minute: these names are stored as they are.
enum class Metric : uint8_t { kRequests, kBytes, kViews, kWatchMs, kSessions, kFallbackSessions };
const char* metric_name(Metric m);

// A session as kept in memory while it may still get requests (compact:
// 100,000 of them fit in a few MB) and as a row of the sessions table.
struct Session {
  int64_t id = 0;
  int64_t first_ms = 0, last_ms = 0;
  int64_t last_media_ms = -1;  // -1: no media yet
  int64_t watch_ms = 0;
  uint32_t channel = 0;
  Source source = Source::kFallback;
  bool view = false;
  bool dirty = false;
};

struct SessionRow {
  Key key;
  Session s;
  bool open = true;
};

enum class Outcome { kOk, kGarbage, kFuture, kPast };

struct EngineOptions {
  int64_t timeout_ms = 0;          // --session-timeout; 0: per channel (3 target durations, else 30 s)
  int64_t default_timeout_ms = 30000;
  int64_t late_ms = 60000;         // a line older than the newest by more than this is "past"
  int64_t future_ms = 60000;       // a line ahead of the clock by more than this is "future"
  // The timeout of a channel seen for the first time (reads its playlists); 0: none found.
  std::function<int64_t(const std::string& channel)> channel_timeout;
};

class Engine {
 public:
  explicit Engine(EngineOptions o) : o_(std::move(o)) {}

  // What a restart restores (from the Store).
  void restore_channel(const std::string& name, int64_t timeout_ms);
  void restore_session(const SessionRow& r);
  void restore_watermark(int64_t w) { watermark_ = w; }
  void restore_next_id(int64_t id) { next_id_ = id; }
  void restore_total(const std::string& channel, Metric m, const std::string& label, int64_t v);

  Outcome add(std::string_view line, int64_t wall_now_ms);
  // Closes the sessions that no acceptable line can extend any more.
  void sweep();

  struct SeriesKey {
    int64_t minute;  // Unix minutes
    uint32_t channel;
    Metric metric;
    uint32_t label;  // status code, or a track index (kWatchMs), else 0
    bool operator<(const SeriesKey& o) const {
      if (minute != o.minute) return minute < o.minute;
      if (channel != o.channel) return channel < o.channel;
      if (metric != o.metric) return metric < o.metric;
      return label < o.label;
    }
  };
  struct Unique {
    int64_t day;  // Unix days
    uint32_t channel;
    uint64_t viewer;  // hash of address + User-Agent
  };
  struct Batch {
    std::vector<SessionRow> sessions;  // touched (open) or closed
    std::map<SeriesKey, int64_t> series;
    std::vector<Unique> uniques;
    std::vector<std::pair<std::string, int64_t>> new_channels;
    int64_t watermark = 0, next_id = 1;
    // Adds a later batch to this one (a batch the store could not take
    // waits for the next commit): a session's newest row wins, counters add.
    void merge(Batch&& later);
    bool empty() const { return sessions.empty() && series.empty() && uniques.empty() && new_channels.empty(); }
  };
  // What changed since the previous take.
  Batch take();

  const std::string& channel_name(uint32_t c) const { return channels_[c].name; }
  const std::string& track_name(uint32_t t) const { return tracks_[t]; }
  std::string label_text(Metric m, uint32_t label) const;
  int64_t watermark() const { return watermark_; }
  size_t active_sessions() const { return active_.size(); }

  // Sessions whose last request is within their timeout of ref, by channel;
  // fallback: those of them identified by address + User-Agent.
  std::map<std::string, int64_t> viewers(int64_t ref_ms, int64_t* fallback = nullptr) const;
  // Running totals (the Prometheus counters): channel -> metric -> label -> value.
  struct TotalKey {
    std::string channel;
    Metric metric;
    std::string label;
    bool operator<(const TotalKey& o) const {
      if (channel != o.channel) return channel < o.channel;
      if (metric != o.metric) return metric < o.metric;
      return label < o.label;
    }
  };
  const std::map<TotalKey, int64_t>& totals() const { return totals_; }
  std::vector<std::string> channels() const;

 private:
  struct Channel {
    std::string name;
    int64_t timeout_ms;
  };
  uint32_t channel_index(const std::string& name);
  uint32_t track_index(const std::string& name);
  void count(int64_t t_ms, uint32_t ch, Metric m, uint32_t label, int64_t v);
  void close(const Key& k, Session& s);

  EngineOptions o_;
  std::vector<Channel> channels_;
  std::unordered_map<std::string, uint32_t> channel_by_name_;
  std::vector<std::string> tracks_;
  std::unordered_map<std::string, uint32_t> track_by_name_;
  std::unordered_map<Key, Session, KeyHash> active_;
  std::vector<Key> dirty_;
  Batch batch_;
  std::map<TotalKey, int64_t> totals_;
  int64_t watermark_ = 0, next_id_ = 1;
  LogLine line_;
  PathInfo info_;
  std::string ident_;
};

}  // namespace sigma::stats
