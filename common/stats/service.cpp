// sigma-stats run and top.
#include "stats/service.h"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/cli.h"
#include "base/event_follower.h"
#include "base/events.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "base/time_spec.h"
#include "base/write_health.h"
#include "db/db.h"
#include "http/poll_server.h"
#include "http/prometheus.h"
#include "stats/engine.h"
#include "stats/metrics.h"
#include "stats/store.h"

namespace sigma::stats {
namespace {

constexpr int64_t kMinuteMs = 60000;
constexpr int64_t kDayMs = 86400000;
constexpr int kIdleWaitMs = 100;
constexpr int64_t kBatchMs = 500;          // commit at least this often while lines come
constexpr size_t kBatchLines = 200000;     // or after this many lines
constexpr int64_t kQuietSlackMs = 5000;    // "now" for viewers: the newest line, or the clock minus this
constexpr int kWarnFirst = 10;
constexpr int64_t kWarnEvery = 1000;

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kGarbage: return "not an access-log line (garbage or truncated)";
    case Outcome::kFuture: return "from the future (over 60 s ahead of the clock)";
    case Outcome::kPast: return "from the past (over 60 s older than the newest line, or before 2000)";
    default: return "ok";
  }
}

std::string excerpt(const std::string& s) {
  std::string o = s.substr(0, 160);
  for (char& c : o)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s.size() > 160 ? o + "..." : o;
}

int64_t reference_ms(int64_t watermark) { return std::max(watermark, unix_ms_now() - kQuietSlackMs); }

std::string status_json(const std::map<std::string, int64_t>& viewers, const std::map<std::string, int64_t>& views,
                        const std::map<std::string, int64_t>& watch, int64_t fallback, const LineCounts* lines) {
  nlohmann::ordered_json j;
  j["time"] = now_iso8601();
  j["channels"] = nlohmann::ordered_json::object();
  for (const auto& [ch, n] : viewers) {
    auto v = views.find(ch);
    auto w = watch.find(ch);
    j["channels"][ch] = {{"viewers", n},
                         {"views_today", v == views.end() ? 0 : v->second},
                         {"watch_seconds_today", w == watch.end() ? 0.0 : static_cast<double>(w->second) / 1000.0}};
  }
  j["identity_fallback_sessions"] = fallback;
  if (lines)
    j["lines"] = {{"ok", lines->ok}, {"garbage", lines->garbage}, {"future", lines->future}, {"past", lines->past}};
  return j.dump() + "\n";
}

class Runner {
 public:
  explicit Runner(RunParams& p) : p_(p) {}

  Status run() {
    EngineOptions eo;
    if (!p_.session_timeout.empty()) {
      SIGMA_ASSIGN_OR_RETURN(eo.timeout_ms, parse_duration(p_.session_timeout));
      if (eo.timeout_ms < 1000) return usage_error("--session-timeout must be at least 1s");
      eo.default_timeout_ms = eo.timeout_ms;
    } else if (!p_.root.empty()) {
      std::string root = p_.root;
      eo.channel_timeout = [root](const std::string& ch) { return timeout_from_root(root, ch); };
    }
    if (!p_.root.empty()) {
      struct stat st {};
      if (::stat(p_.root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return usage_error("--root " + p_.root + ": not a directory");
    }
    engine_ = std::make_unique<Engine>(eo);
    SIGMA_RETURN_IF_ERROR(events_.open(p_.events));
    SIGMA_ASSIGN_OR_RETURN(store_, Store::open(p_.state));
    SIGMA_RETURN_IF_ERROR(store_->restore(*engine_, pos_, counts_));
    bool file = p_.log != "-" && p_.log.rfind("fd:", 0) != 0;
    uint64_t inode = 0, offset = 0;
    if (file && pos_.spec == p_.log) {
      inode = pos_.inode;
      offset = pos_.offset;
    }
    SIGMA_ASSIGN_OR_RETURN(follower_, EventFollower::open(p_.log, inode, offset));
    if (file && follower_->is_file() && offset > 0 && (follower_->inode() != inode || follower_->offset() != offset))
      note_reset(inode != follower_->inode() ? "rotated" : "truncated");
    pos_.spec = p_.log;
    pos_.inode = follower_->inode();
    pos_.offset = follower_->offset();
    if (!p_.metrics.empty() && p_.metrics != "off") SIGMA_RETURN_IF_ERROR(metrics_.listen(p_.metrics, "metrics"));
    notify_ready(p_.ready_fd);
    spdlog::info("following {} into {} ({} open sessions restored{}{})", p_.log, p_.state, engine_->active_sessions(),
                 metrics_.listening() ? ", metrics on " + p_.metrics : "",
                 p_.session_timeout.empty() ? "" : ", session timeout " + p_.session_timeout);
    SIGMA_RETURN_IF_ERROR(write_status());
    int64_t next_status = monotonic_ms() + p_.status_every_ms;

    while (!stop_requested()) {
      int64_t started = monotonic_ms();
      size_t n = 0;
      bool any = false;
      for (;;) {
        lines_.clear();
        uint64_t before_inode = follower_->inode(), before_off = follower_->offset();
        SIGMA_RETURN_IF_ERROR(follower_->read(lines_, 0));
        if (follower_->is_file() && (follower_->inode() != before_inode || follower_->offset() < before_off))
          note_reset(follower_->inode() != before_inode ? "rotated" : "truncated");
        if (lines_.empty()) break;
        any = true;
        int64_t wall = unix_ms_now();
        for (const auto& l : lines_) take_line(l, wall);
        n += lines_.size();
        pos_.inode = follower_->inode();
        pos_.offset = follower_->offset();
        if (n >= kBatchLines || monotonic_ms() - started >= kBatchMs || stop_requested()) break;
      }
      if (any || dirty_meta_ || health_.failing()) SIGMA_RETURN_IF_ERROR(commit());
      int64_t now = monotonic_ms();
      if (now >= next_status) {
        SIGMA_RETURN_IF_ERROR(write_status());
        next_status = now + p_.status_every_ms;
      }
      if (follower_->ended() && !any) {
        spdlog::info("{}: end of input", p_.log);
        break;
      }
      std::vector<pollfd> fds;
      metrics_.add_poll_fds(fds);
      fds.push_back({stop_fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), any ? 0 : kIdleWaitMs);
      metrics_.process(fds, monotonic_ms(), [&](const std::string&, const std::string& path) { return serve(path); });
    }
    SIGMA_RETURN_IF_ERROR(commit(true));
    SIGMA_RETURN_IF_ERROR(write_status());
    spdlog::info("stopped: {} lines ({} garbage, {} future, {} past skipped)", counts_.ok + counts_.garbage +
                 counts_.future + counts_.past, counts_.garbage, counts_.future, counts_.past);
    return {};
  }

 private:
  void note_reset(const char* how) {
    ++counts_.resets;
    dirty_meta_ = true;
    spdlog::warn("{}: {} under sigma-stats; reading it again from its start", p_.log, how);
    events_.emit("stats.log_reset", "", {{"log", p_.log}, {"reason", how}});
  }

  void take_line(const std::string& l, int64_t wall) {
    Outcome o = engine_->add(l, wall);
    int64_t* c = o == Outcome::kOk ? &counts_.ok : o == Outcome::kGarbage ? &counts_.garbage
                 : o == Outcome::kFuture ? &counts_.future : &counts_.past;
    ++*c;
    if (o == Outcome::kOk) return;
    int64_t bad = counts_.garbage + counts_.future + counts_.past;
    if (warned_ < kWarnFirst) {
      ++warned_;
      spdlog::warn("{}: line skipped, {}: {}", p_.log, outcome_name(o), excerpt(l));
    } else if (bad % kWarnEvery == 0) {
      spdlog::warn("{}: {} lines skipped so far ({} garbage, {} future, {} past)", p_.log, bad, counts_.garbage,
                   counts_.future, counts_.past);
    }
  }

  // A full disk (SQLITE_FULL, or another system error writing the state)
  // does not stop the counting: the batch waits in memory, merged with the
  // ones after it, and is tried again a second later; the read position
  // goes with it in one transaction, so a kill meanwhile re-reads those
  // lines from the log at the next start and nothing is lost or counted
  // twice. output.failed / output.recovered (writer "stats") say so.
  Status commit(bool last = false) {
    engine_->sweep();
    held_.merge(engine_->take());
    dirty_meta_ = false;
    if (health_.failing() && !last && monotonic_ms() < retry_at_ms_) return {};
    uint64_t mark = health_.failures();
    Status st = store_->commit(*engine_, held_, pos_, counts_);
    if (!st) {
      if (st.code() != ExitCode::kSystem) return st;
      health_.failed("state: the counts since the last commit (kept in memory)", st);
      retry_at_ms_ = monotonic_ms() + 1000;
      if (last) spdlog::warn("stopping with statistics unwritten: the next start reads them again from the log");
      return {};
    }
    held_ = {};
    health_.recovered_since(mark);
    return {};
  }

  http::HttpReply serve(const std::string& path) {
    if (path != "/metrics") return {404, "text/plain; charset=utf-8", "not found: try /metrics\n"};
    return {200, http::kPrometheusContentType, metrics_body()};
  }

  std::string metrics_body() {
    int64_t fb = 0;
    auto v = engine_->viewers(reference_ms(engine_->watermark()), &fb);
    return metrics_text(*engine_, v, fb, counts_);
  }

  Status write_status() {
    if (p_.status_file.empty()) return {};
    int64_t ref = reference_ms(engine_->watermark());
    int64_t fb = 0;
    auto viewers = engine_->viewers(ref, &fb);
    int64_t today = (ref / kDayMs) * kDayMs / kMinuteMs;
    SIGMA_ASSIGN_OR_RETURN(auto views, store_->sum_since("views", today));
    SIGMA_ASSIGN_OR_RETURN(auto watch, store_->sum_since("watch_ms", today));
    for (const auto& [k, v] : held_.series) {  // not in the store yet (a full disk)
      if (k.minute < today) continue;
      if (k.metric == Metric::kViews) views[engine_->channel_name(k.channel)] += v;
      if (k.metric == Metric::kWatchMs) watch[engine_->channel_name(k.channel)] += v;
    }
    Status st = write_file_atomic(p_.status_file, status_json(viewers, views, watch, fb, &counts_));
    if (!st.is_ok()) spdlog::warn("{}", st.wrap("status file").message());
    return {};
  }

  RunParams& p_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventFollower> follower_;
  EventWriter events_;
  http::PollHttpServer metrics_;
  Position pos_;
  LineCounts counts_;
  std::vector<std::string> lines_;
  int warned_ = 0;
  bool dirty_meta_ = false;
  Engine::Batch held_;  // taken from the engine, not yet in the store
  WriteHealth health_{&events_, "", "stats"};
  int64_t retry_at_ms_ = 0;
};

// The status document from a state read-only: what top shows without a file.
Result<std::string> status_from_state(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto store, Store::open(path, true));
  db::Db& d = store->db();
  SIGMA_ASSIGN_OR_RETURN(int64_t w, d.scalar("SELECT coalesce((SELECT value FROM meta WHERE key = 'watermark'), 0)"));
  int64_t ref = reference_ms(w);
  std::map<std::string, int64_t> viewers;
  int64_t fb = 0;
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query("SELECT name FROM channels"));
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read channels"));
      if (!row) break;
      viewers[q.text(0)] = 0;
    }
  }
  {
    SIGMA_ASSIGN_OR_RETURN(db::Query q, d.query(
        "SELECT s.channel, s.source FROM sessions s JOIN channels c ON c.name = s.channel "
        "WHERE s.open = 1 AND s.last_ms + c.timeout_ms >= ?1 AND s.first_ms <= ?1"));
    q.bind(1, ref);
    for (;;) {
      SIGMA_ASSIGN_OR_RETURN(bool row, q.step("read sessions"));
      if (!row) break;
      ++viewers[q.text(0)];
      if (q.text(1) == "fallback") ++fb;
    }
  }
  int64_t today = (ref / kDayMs) * kDayMs / kMinuteMs;
  SIGMA_ASSIGN_OR_RETURN(auto views, store->sum_since("views", today));
  SIGMA_ASSIGN_OR_RETURN(auto watch, store->sum_since("watch_ms", today));
  return status_json(viewers, views, watch, fb, nullptr);
}

std::string top_frame(const nlohmann::json& j, const std::string& source) {
  std::string out = fmt::format("sigma-stats top  {}  ({})\n\n", j.value("time", std::string("?")), source);
  out += fmt::format("{:<24} {:>8} {:>12} {:>14}\n", "CHANNEL", "VIEWERS", "VIEWS TODAY", "WATCHED TODAY");
  int64_t total = 0;
  if (j.contains("channels") && j["channels"].is_object()) {
    for (const auto& [ch, c] : j["channels"].items()) {
      int64_t v = c.value("viewers", int64_t{0});
      total += v;
      double w = c.value("watch_seconds_today", 0.0);
      out += fmt::format("{:<24} {:>8} {:>12} {:>14}\n", ch, v, c.value("views_today", int64_t{0}),
                         format_duration(static_cast<int64_t>(w * 1000)));
    }
  }
  out += fmt::format("{:<24} {:>8}\n", "all", total);
  int64_t fb = j.value("identity_fallback_sessions", int64_t{0});
  if (fb > 0) out += fmt::format("\n{} viewer(s) counted by address + User-Agent (no session id)\n", fb);
  return out;
}

}  // namespace

int64_t timeout_from_root(const std::string& root, const std::string& channel) {
  if (channel.find("..") != std::string::npos) return 0;
  std::string dir = root + "/" + channel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int64_t best = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(dir + "/" + e->d_name + "/index.m3u8");
    std::string line;
    while (f && std::getline(f, line)) {
      if (line.rfind("#EXT-X-TARGETDURATION:", 0) == 0) {
        int64_t t = std::atoll(line.c_str() + 22);
        if (t > 0) best = std::max(best, t);
        break;
      }
    }
  }
  ::closedir(d);
  return best * 3000;
}

Status run_stats(RunParams& p) {
  Runner r(p);
  return r.run();
}

Status run_top(const TopParams& p) {
  if (p.state.empty() == p.status_file.empty()) return usage_error("top: give --state or --status-file (one)");
  if (p.interval_s < 0.1) return usage_error("--interval must be at least 0.1 s");
  bool tty = ::isatty(1);
  for (;;) {
    std::string text, source;
    if (!p.status_file.empty()) {
      auto r = read_file(p.status_file);
      if (!r.is_ok()) {
        if (p.once) return r.status().wrap("status file");
        text = "{}";
      } else {
        text = *r;
      }
      source = p.status_file;
    } else {
      SIGMA_ASSIGN_OR_RETURN(text, status_from_state(p.state));
      source = p.state;
    }
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      if (p.once) return data_error("status file " + p.status_file + ": not a sigma-stats status document");
      j = nlohmann::json::object();
    }
    std::string frame = top_frame(j, source);
    if (tty && !p.once) frame = "\033[H\033[2J" + frame;
    std::fwrite(frame.data(), 1, frame.size(), stdout);
    std::fflush(stdout);
    if (p.once) return {};
    pollfd f{stop_fd(), POLLIN, 0};
    ::poll(&f, 1, static_cast<int>(p.interval_s * 1000));
    if (stop_requested()) return {};
  }
}

}  // namespace sigma::stats
