#include "stats/engine.h"

namespace sigma::stats {
namespace {

constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kDayMs = 86400000;
constexpr int64_t kEpochFloorMs = 946684800000;  // 2000-01-01: older lines are "past"

uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

Key hash128(std::string_view s) {
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  for (unsigned char c : s) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ c) * 0x100000001b3ULL + 0x9E3779B97F4A7C15ULL;
  }
  return {mix(a), mix(b ^ s.size())};
}

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::kRequests: return "requests";
    case Metric::kBytes: return "bytes";
    case Metric::kViews: return "views";
    case Metric::kWatchMs: return "watch_ms";
    case Metric::kSessions: return "sessions";
    default: return "fallback_sessions";
  }
}

uint32_t Engine::channel_index(const std::string& name) {
  auto it = channel_by_name_.find(name);
  if (it != channel_by_name_.end()) return it->second;
  int64_t t = 0;
  if (o_.channel_timeout) t = o_.channel_timeout(name);
  if (t <= 0) t = o_.default_timeout_ms;
  batch_.new_channels.emplace_back(name, t);
  restore_channel(name, t);
  return channel_by_name_.at(name);
}

void Engine::restore_channel(const std::string& name, int64_t timeout_ms) {
  if (channel_by_name_.count(name)) return;
  channel_by_name_[name] = static_cast<uint32_t>(channels_.size());
  channels_.push_back({name, timeout_ms});
}

uint32_t Engine::track_index(const std::string& name) {
  auto it = track_by_name_.find(name);
  if (it != track_by_name_.end()) return it->second;
  track_by_name_[name] = static_cast<uint32_t>(tracks_.size());
  tracks_.push_back(name);
  return static_cast<uint32_t>(tracks_.size() - 1);
}

void Engine::restore_session(const SessionRow& r) {
  Session s = r.s;
  s.dirty = false;
  active_[r.key] = s;
  if (s.id >= next_id_) next_id_ = s.id + 1;
}

void Engine::restore_total(const std::string& channel, Metric m, const std::string& label, int64_t v) {
  totals_[{channel, m, label}] += v;
}

std::string Engine::label_text(Metric m, uint32_t label) const {
  if (m == Metric::kRequests) return std::to_string(label);
  if (m == Metric::kWatchMs) return tracks_[label];
  return "";
}

void Engine::count(int64_t t_ms, uint32_t ch, Metric m, uint32_t label, int64_t v) {
  batch_.series[{floor_div(t_ms, kMinuteMs), ch, m, label}] += v;
}

void Engine::close(const Key& k, Session& s) {
  batch_.sessions.push_back({k, s, false});
}

Outcome Engine::add(std::string_view text, int64_t wall_now_ms) {
  if (!parse_log_line(text, line_)) return Outcome::kGarbage;
  int64_t t = line_.time_ms;
  if (t > wall_now_ms + o_.future_ms) return Outcome::kFuture;
  if (t < kEpochFloorMs || t < watermark_ - o_.late_ms) return Outcome::kPast;
  if (t > watermark_) watermark_ = t;
  classify_path(line_.path, info_);
  if (info_.channel.empty()) return Outcome::kOk;
  // A channel exists once it served something: 404s for made-up names
  // must not grow the state or the metrics' label sets.
  if (line_.status >= 400 && !channel_by_name_.count(info_.channel)) return Outcome::kOk;
  uint32_t ch = channel_index(info_.channel);
  count(t, ch, Metric::kRequests, static_cast<uint32_t>(line_.status), 1);
  if (line_.bytes) count(t, ch, Metric::kBytes, 0, static_cast<int64_t>(line_.bytes));
  if (line_.status >= 400 || info_.kind == Kind::kThumbnail || info_.kind == Kind::kOther) return Outcome::kOk;

  Source src;
  ident_.assign(info_.channel);
  ident_ += '\0';
  // A signed URL's viewer id wins over a path session and CMCD: it is
  // the one the operator minted for that viewer.
  bool token_session = line_.session_source == "token" && !line_.session.empty();
  if (token_session || !info_.viewer.empty()) {
    src = Source::kToken;
    ident_ += 's';
    ident_ += token_session ? line_.session : info_.viewer;
  } else if (!line_.session.empty()) {
    src = line_.session_source == "cmcd" ? Source::kCmcd : Source::kPath;
    ident_ += 's';
    ident_ += line_.session;
  } else if (!info_.sid.empty()) {
    src = Source::kPath;
    ident_ += 's';
    ident_ += info_.sid;
  } else if (std::string sid = line_.query.empty() ? "" : cmcd_sid_from_query(line_.query); !sid.empty()) {
    src = Source::kCmcd;
    ident_ += 's';
    ident_ += sid;
  } else {
    // The request that mints a session (a master without one) is no part
    // of any: the player's next requests carry the new id.
    if (info_.kind == Kind::kMaster) return Outcome::kOk;
    src = Source::kFallback;
    ident_ += 'f';
    ident_ += line_.client;
    ident_ += '\n';
    ident_ += line_.user_agent;
  }
  Key k = hash128(ident_);
  int64_t timeout = channels_[ch].timeout_ms;
  auto it = active_.find(k);
  if (it != active_.end() && t > it->second.last_ms + timeout) {
    close(k, it->second);
    active_.erase(it);
    it = active_.end();
  }
  if (it == active_.end()) {
    Session s;
    s.id = next_id_++;
    s.first_ms = s.last_ms = t;
    s.channel = ch;
    s.source = src;
    it = active_.emplace(k, s).first;
    count(t, ch, Metric::kSessions, 0, 1);
    if (src == Source::kFallback) count(t, ch, Metric::kFallbackSessions, 0, 1);
  }
  Session& s = it->second;
  if (t < s.first_ms) s.first_ms = t;
  if (t > s.last_ms) s.last_ms = t;
  if (info_.kind == Kind::kSegment || info_.kind == Kind::kPart) {
    if (!s.view) {
      s.view = true;
      count(t, ch, Metric::kViews, 0, 1);
      std::string who = line_.client + '\n' + line_.user_agent;
      batch_.uniques.push_back({floor_div(t, kDayMs), ch, hash128(who).a});
    }
    if (s.last_media_ms >= 0 && t >= s.last_media_ms && t - s.last_media_ms <= timeout) {
      int64_t d = t - s.last_media_ms;
      s.watch_ms += d;
      if (d) count(t, ch, Metric::kWatchMs, track_index(info_.track), d);
    }
    if (t > s.last_media_ms) s.last_media_ms = t;
  }
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(k);
  }
  return Outcome::kOk;
}

void Engine::sweep() {
  for (auto it = active_.begin(); it != active_.end();) {
    const Session& s = it->second;
    if (s.last_ms + channels_[s.channel].timeout_ms + o_.late_ms < watermark_) {
      close(it->first, it->second);
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
}

Engine::Batch Engine::take() {
  for (const Key& k : dirty_) {
    auto it = active_.find(k);
    if (it == active_.end()) continue;  // closed since: its row is in sessions already
    it->second.dirty = false;
    batch_.sessions.push_back({k, it->second, true});
  }
  dirty_.clear();
  for (const auto& [k, v] : batch_.series)
    totals_[{channels_[k.channel].name, k.metric, label_text(k.metric, k.label)}] += v;
  batch_.watermark = watermark_;
  batch_.next_id = next_id_;
  Batch out = std::move(batch_);
  batch_ = Batch{};
  return out;
}

void Engine::Batch::merge(Batch&& later) {
  if (empty()) {
    *this = std::move(later);
    return;
  }
  std::unordered_map<int64_t, size_t> at;
  for (size_t i = 0; i < sessions.size(); ++i) at[sessions[i].s.id] = i;
  for (auto& r : later.sessions) {
    auto [it, fresh] = at.try_emplace(r.s.id, sessions.size());
    if (fresh) sessions.push_back(std::move(r));
    else sessions[it->second] = std::move(r);
  }
  for (const auto& [k, v] : later.series) series[k] += v;
  uniques.insert(uniques.end(), later.uniques.begin(), later.uniques.end());
  new_channels.insert(new_channels.end(), later.new_channels.begin(), later.new_channels.end());
  watermark = later.watermark;
  next_id = later.next_id;
}

std::map<std::string, int64_t> Engine::viewers(int64_t ref_ms, int64_t* fallback) const {
  std::map<std::string, int64_t> out;
  for (const auto& c : channels_) out[c.name] = 0;
  if (fallback) *fallback = 0;
  for (const auto& [k, s] : active_) {
    if (s.last_ms + channels_[s.channel].timeout_ms < ref_ms || s.first_ms > ref_ms) continue;
    ++out[channels_[s.channel].name];
    if (fallback && s.source == Source::kFallback) ++*fallback;
  }
  return out;
}

std::vector<std::string> Engine::channels() const {
  std::vector<std::string> v;
  for (const auto& c : channels_) v.push_back(c.name);
  return v;
}

}  // namespace sigma::stats
