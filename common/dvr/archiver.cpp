// `sigma-dvr run`'s loop: lines in, rows committed one transaction per
// burst, retention after each burst and every sweep_every_ms.
#include "dvr/archiver.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/cli.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "base/event_follower.h"
#include "base/write_health.h"
#include "package/segment_event.h"

namespace sigma::dvr {
namespace {

constexpr size_t kMaxBatch = 2000;
constexpr const char* kPositionKey = "events_position";  // "<inode> <offset> <spec>"
// Rows held in memory while the index cannot be written (a full disk);
// past this the oldest are let go: their files stay, and the next start's
// reconcile indexes them.
constexpr size_t kMaxHeldRows = 20'000;
// A ballast file in .dvr/: on a filesystem so full that SQLite cannot
// append to its WAL, deleting it makes room for the transaction that
// removes the oldest rows, whose files then free the space.
constexpr int64_t kReserveBytes = 1 << 20;

int64_t vm_hwm_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  return -1;
}

class Archiver {
 public:
  explicit Archiver(ArchiverParams p) : p_(std::move(p)) {}
  ~Archiver() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  Status run();

 private:
  Status process(const std::vector<std::string>& lines);
  std::optional<SegmentRow> row_of(const std::string& line);
  Status commit();
  Status retention(bool periodic);
  Result<RetentionResult> retention_pass(const RetentionPolicy& policy, int64_t now);
  int64_t free_deficit() const;
  void make_reserve();
  bool drop_reserve();
  void summary(bool force);

  ArchiverParams p_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<EventFollower> in_;
  EventWriter events_;
  WriteHealth health_{&events_, p_.channel, "dvr"};
  bool reserve_ = false;  // .dvr/reserve is there
  std::vector<SegmentRow> batch_;
  int64_t summary_segments_ = 0, summary_bytes_ = 0;
  int64_t cached_total_ = 0;
  bool blocked_ = false;
  package::SegmentEventReader events_in_{p_.channel};
  int64_t no_duration_ = 0;
  int lock_fd_ = -1;  // held (flock) for the process's life
  std::string dir_name_;  // the channel directory's last component
};

std::optional<SegmentRow> Archiver::row_of(const std::string& line) {
  auto got = events_in_.read(line);
  if (!got) return std::nullopt;
  const package::SegmentWritten& ev = *got;
  if (ev.duration_ms < 0) {
    if (++no_duration_ <= 3) spdlog::warn("events input: a segment.written without a duration, ignored: {:.120}", line);
    return std::nullopt;
  }
  SegmentRow r;
  r.track = ev.track;
  r.uri = ev.uri;
  r.init = ev.init;
  r.gap = ev.gap;
  r.discontinuity = ev.discontinuity;
  r.independent = ev.independent;
  r.msn = ev.msn;
  r.start_ms = ev.pdt_ms;
  r.duration_ms = ev.duration_ms;
  if (r.gap) {
    r.uri.clear();
    if (p_.channel.empty()) {
      struct stat st {};
      if (::stat((p_.dir + "/" + r.track).c_str(), &st) != 0) return std::nullopt;
    }
    return r;
  }
  struct stat st {};
  if (::stat((p_.dir + "/" + r.uri).c_str(), &st) != 0) {
    // Deleted since (a replay of old events), or another channel's.
    spdlog::debug("segment {} is not in {} (any more): not indexed", r.uri, p_.dir);
    return std::nullopt;
  }
  if (p_.channel.empty()) {
    // No channel named: only events whose file is this directory's. The
    // path is as the packager saw it (maybe relative to its own working
    // directory): the same file, or else the same channel directory name.
    const std::string& path = ev.path;
    struct stat ps {};
    if (!path.empty()) {
      if (::stat(path.c_str(), &ps) == 0) {
        if (ps.st_ino != st.st_ino || ps.st_dev != st.st_dev) return std::nullopt;
      } else {
        std::string tail = dir_name_ + "/" + r.uri;
        if (path != tail && !(path.size() > tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0 &&
                              path[path.size() - tail.size() - 1] == '/'))
          return std::nullopt;
      }
    }
  }
  r.bytes = st.st_size;
  return r;
}

Status Archiver::process(const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    if (auto r = row_of(line)) {
      batch_.push_back(std::move(*r));
      if (batch_.size() >= kMaxBatch) SIGMA_RETURN_IF_ERROR(commit());
    }
  }
  return commit();
}

// A full disk (SQLITE_FULL, or any system error writing the index) does
// not stop the archiver: the rows wait in memory and go with the next
// commit; the reserve is given up first to make room.
Status Archiver::commit() {
  uint64_t mark = health_.failures();
  if (!batch_.empty()) {
    Status st = index_->add_batch(batch_);
    if (!st && st.code() == ExitCode::kSystem && drop_reserve()) st = index_->add_batch(batch_);
    if (!st) {
      if (st.code() != ExitCode::kSystem) return st.wrap("index segments");
      health_.failed("index of " + std::to_string(batch_.size()) + " segment(s)", st.wrap("index segments"));
      if (batch_.size() > kMaxHeldRows) {
        size_t drop = batch_.size() - kMaxHeldRows;
        spdlog::warn("index: {} row(s) waiting too long let go (their files are indexed at the next start)", drop);
        batch_.erase(batch_.begin(), batch_.begin() + static_cast<long>(drop));
      }
      return {};
    }
    for (const auto& r : batch_) {
      ++summary_segments_;
      summary_bytes_ += r.bytes;
      cached_total_ += r.bytes;
    }
    batch_.clear();
  }
  if (in_ && in_->is_file() && in_->inode() != 0) {
    Status st = index_->set_meta(
        kPositionKey, std::to_string(in_->inode()) + " " + std::to_string(in_->offset()) + " " + in_->spec());
    if (!st) {
      if (st.code() != ExitCode::kSystem) return st;
      health_.failed("read position", st);
      return {};
    }
  }
  health_.recovered_since(mark);
  if (!reserve_ && free_deficit() < 0) make_reserve();
  return {};
}

// Bytes to free to get back to the floor (<= 0: none).
int64_t Archiver::free_deficit() const {
  if (p_.min_free_bytes <= 0 && p_.min_free_percent <= 0) return 0;
  struct statvfs v {};
  if (::statvfs(p_.dir.c_str(), &v) != 0) return 0;
  int64_t total = static_cast<int64_t>(v.f_blocks) * static_cast<int64_t>(v.f_frsize);
  int64_t free = static_cast<int64_t>(v.f_bavail) * static_cast<int64_t>(v.f_frsize);
  int64_t floor = p_.min_free_bytes > 0 ? p_.min_free_bytes
                                        : static_cast<int64_t>(static_cast<double>(total) * p_.min_free_percent / 100.0);
  // The reserve, once given up, is wanted back: it counts as needed.
  if (!reserve_) floor += kReserveBytes;
  return floor - free;
}

void Archiver::make_reserve() {
  std::string path = p_.dir + "/.dvr/reserve";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  int e = ::posix_fallocate(fd, 0, kReserveBytes);
  ::close(fd);
  if (e != 0) {
    ::unlink(path.c_str());
    spdlog::debug("reserve {}: {}", path, std::strerror(e));
    return;
  }
  reserve_ = true;
}

bool Archiver::drop_reserve() {
  if (!reserve_) return false;
  reserve_ = false;
  std::string path = p_.dir + "/.dvr/reserve";
  if (::unlink(path.c_str()) != 0) return false;
  spdlog::warn("index {}: filesystem full: the {} kB reserve given up to make room", p_.dir, kReserveBytes / 1024);
  return true;
}

Result<RetentionResult> Archiver::retention_pass(const RetentionPolicy& policy, int64_t now) {
  auto r = apply_retention(*index_, p_.dir, policy, now);
  if (!r && r.status().code() == ExitCode::kSystem && drop_reserve()) r = apply_retention(*index_, p_.dir, policy, now);
  return r;
}

Status Archiver::retention(bool periodic) {
  int64_t deficit = free_deficit();
  if (p_.retain_ms <= 0 && p_.max_bytes <= 0 && deficit <= 0) return {};
  int64_t now = unix_ms_now();
  if (!periodic) {
    // Under the free-space floor each new segment may have made an old
    // one deletable (it left the spared range): no waiting for the sweep.
    if (blocked_ && deficit <= 0) return {};
    bool due = (p_.max_bytes > 0 && cached_total_ > p_.max_bytes) || deficit > 0;
    if (!due && p_.retain_ms > 0) {
      SIGMA_ASSIGN_OR_RETURN(auto first, index_->oldest(LLONG_MAX, 1));
      due = !first.empty() && first.front().end_ms() < now - p_.retain_ms;
    }
    if (!due) return {};
  }
  auto pass = retention_pass({p_.retain_ms, p_.max_bytes, std::max<int64_t>(deficit, 0)}, now);
  if (!pass) {
    if (pass.status().code() != ExitCode::kSystem) return pass.status();
    health_.failed("retention", pass.status());
    return {};
  }
  RetentionResult& r = *pass;
  cached_total_ = r.total_bytes;
  blocked_ = r.blocked && r.age_count == 0 && r.size_count == 0 && r.space_count == 0;
  if (r.age_count)
    events_.emit("dvr.deleted", p_.channel,
                 {{"count", r.age_count}, {"bytes", r.age_bytes}, {"reason", "age"}, {"inits", r.inits}});
  if (r.size_count)
    events_.emit("dvr.deleted", p_.channel,
                 {{"count", r.size_count}, {"bytes", r.size_bytes}, {"reason", "size"},
                  {"inits", r.age_count ? 0 : r.inits}});
  if (r.space_count)
    events_.emit("dvr.deleted", p_.channel,
                 {{"count", r.space_count}, {"bytes", r.space_bytes}, {"reason", "space"},
                  {"inits", r.age_count || r.size_count ? 0 : r.inits}});
  if (r.space_count && !reserve_ && free_deficit() < 0) make_reserve();
  if (r.blocked && deficit > 0 && periodic)
    spdlog::warn("{}: free space under the floor (--min-free), but what the archive holds is kept or still live",
                 p_.dir);
  if (r.blocked && p_.max_bytes > 0 && r.total_bytes > p_.max_bytes && periodic)
    spdlog::warn("archive {} holds {} bytes, over --max-bytes {}: what is left is kept or still live",
                 p_.dir, r.total_bytes, p_.max_bytes);
  return {};
}

void Archiver::summary(bool force) {
  if (summary_segments_ == 0 && !force) return;
  auto count = index_->count();
  auto span = index_->span();
  nlohmann::json f = {{"segments", summary_segments_},
                      {"bytes", summary_bytes_},
                      {"total_segments", count.is_ok() ? *count : -1},
                      {"total_bytes", cached_total_},
                      {"vm_hwm_kb", vm_hwm_kb()}};
  if (span.is_ok() && span->has_value()) {
    f["from"] = iso8601_utc((*span)->first);
    f["to"] = iso8601_utc((*span)->second);
  }
  events_.emit("dvr.indexed", p_.channel, f);
  summary_segments_ = summary_bytes_ = 0;
}

// One writer per index: a second `run` on the channel (a restart racing
// the old process's exit, two supervisors) fails instead of interleaving.
Status lock_channel(const std::string& dir, int& fd) {
  std::string path = dir + "/.dvr/run.lock";
  fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("open " + path, errno);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[32] = {0};
    [[maybe_unused]] auto n = pread(fd, pid, sizeof pid - 1, 0);
    if (e == EWOULDBLOCK)
      return system_error("another sigma-dvr run archives " + dir + " (pid " + std::string(pid) + ")");
    return errno_error("lock " + path, e);
  }
  std::string me = std::to_string(getpid());
  if (ftruncate(fd, 0) == 0) [[maybe_unused]] auto n = pwrite(fd, me.data(), me.size(), 0);
  return {};
}

Status Archiver::run() {
  SIGMA_RETURN_IF_ERROR(events_.open(p_.events));
  SIGMA_ASSIGN_OR_RETURN(index_, Index::open(p_.dir, Index::Mode::kReadWrite));
  SIGMA_RETURN_IF_ERROR(lock_channel(p_.dir, lock_fd_));
  {
    std::string d = p_.dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    dir_name_ = d.substr(d.rfind('/') == std::string::npos ? 0 : d.rfind('/') + 1);
  }
  if (!p_.channel.empty()) SIGMA_RETURN_IF_ERROR(index_->set_meta("channel", p_.channel));
  {
    struct stat rs {};
    reserve_ = ::stat((p_.dir + "/.dvr/reserve").c_str(), &rs) == 0 && rs.st_size >= kReserveBytes;
    if (!reserve_ && (p_.min_free_bytes > 0 || p_.min_free_percent > 0)) make_reserve();
  }

  // Where the previous run stopped reading this events file.
  uint64_t inode = 0, offset = 0;
  SIGMA_ASSIGN_OR_RETURN(std::string pos, index_->meta(kPositionKey));
  {
    unsigned long long a = 0, b = 0;
    char spec[4096] = {0};
    if (std::sscanf(pos.c_str(), "%llu %llu %4095[^\n]", &a, &b, spec) == 3 && p_.events_in == spec)
      inode = a, offset = b;
  }
  SIGMA_ASSIGN_OR_RETURN(in_, EventFollower::open(p_.events_in, inode, offset));

  // What the file holds already (events of the time sigma-dvr was down)
  // first: it is exact; reconcile then fills in what it does not say.
  std::vector<std::string> lines;
  if (in_->is_file()) {
    do {
      lines.clear();
      SIGMA_RETURN_IF_ERROR(in_->read(lines, 0));
      SIGMA_RETURN_IF_ERROR(process(lines));
    } while (!lines.empty() && !stop_requested());
  }
  SIGMA_ASSIGN_OR_RETURN(ReconcileResult rec, reconcile(*index_, p_.dir));
  SIGMA_ASSIGN_OR_RETURN(int64_t orphans, sweep_orphans(*index_, p_.dir, p_.retain_ms, unix_ms_now()));
  events_.emit("dvr.reconciled", p_.channel,
               {{"added", rec.added}, {"dropped", rec.dropped}, {"orphans", orphans}, {"unreadable", rec.unreadable}});
  SIGMA_ASSIGN_OR_RETURN(cached_total_, index_->total_bytes());
  SIGMA_RETURN_IF_ERROR(retention(true));
  SIGMA_ASSIGN_OR_RETURN(int64_t n, index_->count());
  spdlog::info("archive {}: {} segment(s) indexed, following events from {}", p_.dir, n, p_.events_in);
  notify_ready(p_.ready_fd);

  int64_t next_sweep = monotonic_ms() + p_.sweep_every_ms;
  int64_t next_summary = monotonic_ms() + p_.summary_every_ms;
  while (!stop_requested() && !in_->ended()) {
    int64_t now = monotonic_ms();
    int timeout = static_cast<int>(std::clamp<int64_t>(std::min(next_sweep, next_summary) - now, 0, 60'000));
    lines.clear();
    SIGMA_RETURN_IF_ERROR(in_->read(lines, timeout));
    if (!lines.empty()) {
      SIGMA_RETURN_IF_ERROR(process(lines));
      SIGMA_RETURN_IF_ERROR(retention(false));
    }
    now = monotonic_ms();
    if (now >= next_sweep) {
      SIGMA_RETURN_IF_ERROR(retention(true));
      next_sweep = now + p_.sweep_every_ms;
    }
    if (now >= next_summary) {
      summary(false);
      next_summary = now + p_.summary_every_ms;
    }
  }
  SIGMA_RETURN_IF_ERROR(commit());
  summary(false);
  if (in_->ended()) spdlog::info("events input {} ended", p_.events_in);
  spdlog::info("stopped; peak RSS {} kB", vm_hwm_kb());
  return {};
}

}  // namespace

Status run_archiver(ArchiverParams p) {
  if (p.dir.empty()) return usage_error("--dir: a channel directory is required");
  struct stat st {};
  if (::stat(p.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return system_error("--dir " + p.dir + ": no such channel directory (yet)");
  if (p.sweep_every_ms <= 0) return usage_error("--sweep-every: must be above 0");
  Archiver a(std::move(p));
  return a.run();
}

}  // namespace sigma::dvr
