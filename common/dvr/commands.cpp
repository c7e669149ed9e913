#include "dvr/commands.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/fs.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "dvr/describe.h"
#include "dvr/export.h"
#include "dvr/index.h"
#include "base/time_spec.h"

namespace sigma::dvr {
namespace {

constexpr int64_t kMaxExportMs = 24 * 3600 * 1000LL;
constexpr int64_t kMaxKeepMs = 366 * 24 * 3600 * 1000LL;

std::string iso(int64_t ms) { return iso8601_utc(ms); }

Result<std::unique_ptr<Index>> open_read_only(const std::string& dir) {
  SIGMA_RETURN_IF_ERROR(check_channel_dir(dir));
  return Index::open(dir, Index::Mode::kReadOnly);
}

std::string pad(std::string s, size_t w) {
  if (s.size() < w) s.append(w - s.size(), ' ');
  return s;
}

// "1h2m3s" for seconds as a double (the JSON's duration_s).
// Under a minute with a tenth ("20.5s"), else whole seconds ("1h2m3s").
std::string dur(double seconds) {
  if (seconds < 60) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
  }
  return format_duration(std::llround(seconds) * 1000);
}

void print_ranges(const nlohmann::json& ranges, const char* indent) {
  const nlohmann::json* prev = nullptr;
  for (const auto& r : ranges) {
    if (prev)
      std::printf("%s  %-24s %-24s %-10s (gap)\n", indent, (*prev)["to"].get<std::string>().c_str(),
                  r["from"].get<std::string>().c_str(),
                  dur((r["from_ms"].get<int64_t>() - (*prev)["to_ms"].get<int64_t>()) / 1000.0).c_str());
    std::printf("%s  %-24s %-24s %-10s %10s %8lld segments\n", indent, r["from"].get<std::string>().c_str(),
                r["to"].get<std::string>().c_str(), dur(r["duration_s"].get<double>()).c_str(),
                format_size(r["bytes"].get<int64_t>()).c_str(), static_cast<long long>(r["segments"].get<int64_t>()));
    prev = &r;
  }
}

// Progress of an export on stderr: a bar on a terminal, one JSON object a
// line otherwise (for cron logs and the programs that drive sigma-dvr).
class Progress {
 public:
  explicit Progress(const std::string& mode) {
    if (mode == "auto") mode_ = isatty(2) ? "bar" : "json";
    else mode_ = mode;
    start_ = monotonic_ms();
  }
  void update(uint64_t done, uint64_t total) {
    int64_t now = monotonic_ms();
    bool end = done >= total;
    if (end && printed_end_) return;
    if (!end && now - last_ < (mode_ == "bar" ? 100 : 1000)) return;
    last_ = now;
    printed_end_ = end;
    double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    double secs = (now - start_) / 1000.0;
    if (mode_ == "bar") {
      int width = 30, fill = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r%3d%% [%s%s] %s of %s  %.1f s ", static_cast<int>(frac * 100),
                   std::string(fill, '#').c_str(), std::string(width - fill, '.').c_str(),
                   format_size(static_cast<int64_t>(done)).c_str(), format_size(static_cast<int64_t>(total)).c_str(),
                   secs);
      if (end) std::fputc('\n', stderr);
    } else if (mode_ == "json") {
      std::fprintf(stderr, "{\"type\":\"export.progress\",\"done\":%llu,\"total\":%llu,\"percent\":%.1f,\"elapsed_s\":%.1f}\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), frac * 100, secs);
    }
    std::fflush(stderr);
  }
  void abandon() {
    if (mode_ == "bar" && last_ >= 0 && !printed_end_) std::fputc('\n', stderr);
  }
  const std::string& mode() const { return mode_; }
  double elapsed_s() const { return (monotonic_ms() - start_) / 1000.0; }

 private:
  std::string mode_;
  int64_t start_ = 0, last_ = -1;
  bool printed_end_ = false;
};

char g_tmp_path[4096];

void on_stop_during_export(int) {
  ::unlink(g_tmp_path);  // async-signal-safe, as are write and _exit
  static const char msg[] = "sigma-dvr: export stopped by a signal: nothing written\n";
  [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
  ::_exit(111);
}

std::string dir_name(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status check_channel_dir(const std::string& dir) {
  struct stat st {};
  if (dir.empty()) return usage_error("a channel directory is required");
  if (::stat(dir.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR) return usage_error("unknown channel: no directory " + dir);
    return errno_error("channel directory " + dir, e);
  }
  if (!S_ISDIR(st.st_mode)) return usage_error("unknown channel: " + dir + " is not a directory");
  return {};
}

Result<std::pair<int64_t, int64_t>> resolve_range(const RangeSpec& r, int64_t now_ms, int64_t max_ms) {
  if (r.from.empty()) return usage_error("--from is required");
  auto from = parse_time(r.from, now_ms);
  if (!from.is_ok()) return from.status().wrap("--from");
  int64_t to_ms;
  if (!r.to.empty() && !r.duration.empty()) return usage_error("--to and --duration: give one of them");
  if (!r.to.empty()) {
    auto to = parse_time(r.to, now_ms);
    if (!to.is_ok()) return to.status().wrap("--to");
    to_ms = *to;
    if (to_ms <= *from)
      return usage_error("--to " + r.to + " (" + iso(to_ms) + ") is not after --from " + r.from + " (" + iso(*from) +
                         "): a reversed or empty range");
  } else if (!r.duration.empty()) {
    auto d = parse_duration(r.duration);
    if (!d.is_ok()) return d.status().wrap("--duration");
    if (*d <= 0) return usage_error("--duration " + r.duration + ": must be above 0");
    to_ms = *from + *d;
  } else {
    return usage_error("--to or --duration is required");
  }
  if (to_ms - *from > max_ms)
    return usage_error("the range " + iso(*from) + " to " + iso(to_ms) + " is " + format_duration(to_ms - *from) +
                       " long: at most " + format_duration(max_ms));
  return std::make_pair(*from, to_ms);
}

Status run_list(const ListParams& p) {
  SIGMA_ASSIGN_OR_RETURN(auto index, open_read_only(p.dir));
  SIGMA_ASSIGN_OR_RETURN(nlohmann::json d, describe(*index));
  if (p.json) {
    std::printf("%s\n", d.dump(2).c_str());
    return {};
  }
  std::printf("channel %s (%s): %lld segments, %s", d["channel"].get<std::string>().c_str(), p.dir.c_str(),
              static_cast<long long>(d["segments"].get<int64_t>()), format_size(d["bytes"].get<int64_t>()).c_str());
  if (d["from"].is_null()) {
    std::printf(", nothing archived\n");
  } else {
    std::printf(", %s to %s (%s)\n", d["from"].get<std::string>().c_str(), d["to"].get<std::string>().c_str(),
                dur(d["duration_s"].get<double>()).c_str());
    std::printf("\n%-2s%-24s %-24s %-10s %10s\n", "", "FROM", "TO", "DURATION", "SIZE");
    print_ranges(d["ranges"], "");
  }
  for (const auto& t : d["tracks"]) {
    std::printf("\ntrack %s: %lld segments, %s\n", t["name"].get<std::string>().c_str(),
                static_cast<long long>(t["segments"].get<int64_t>()), format_size(t["bytes"].get<int64_t>()).c_str());
    print_ranges(t["ranges"], "");
  }
  if (!d["keeps"].empty()) {
    std::printf("\nkept past retention:\n");
    for (const auto& k : d["keeps"])
      std::printf("  %s %-24s %-24s %s\n", pad(k["name"].get<std::string>(), 16).c_str(),
                  k["from"].get<std::string>().c_str(), k["to"].get<std::string>().c_str(),
                  format_duration(k["to_ms"].get<int64_t>() - k["from_ms"].get<int64_t>()).c_str());
  }
  return {};
}

Status run_keep(const KeepParams& p) {
  SIGMA_RETURN_IF_ERROR(check_channel_dir(p.dir));
  int modes = (!p.name.empty()) + (!p.remove.empty()) + (p.list ? 1 : 0);
  if (modes != 1) return usage_error("keep: give one of --name (with --from), --remove NAME or --list");
  if (p.list) {
    SIGMA_ASSIGN_OR_RETURN(auto index, Index::open(p.dir, Index::Mode::kReadOnly));
    SIGMA_ASSIGN_OR_RETURN(auto keeps, index->keeps());
    if (p.json) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& k : keeps)
        a.push_back({{"name", k.name}, {"from", iso(k.from_ms)}, {"to", iso(k.to_ms)}, {"from_ms", k.from_ms},
                     {"to_ms", k.to_ms}, {"created", iso(k.created_ms)}});
      std::printf("%s\n", a.dump(2).c_str());
    } else {
      for (const auto& k : keeps)
        std::printf("%s %-24s %-24s %s\n", pad(k.name, 16).c_str(), iso(k.from_ms).c_str(), iso(k.to_ms).c_str(),
                    format_duration(k.to_ms - k.from_ms).c_str());
    }
    return {};
  }
  // Keeps are written beside a running `sigma-dvr run` (WAL, busy timeout).
  SIGMA_ASSIGN_OR_RETURN(auto index, Index::open(p.dir, Index::Mode::kReadWrite));
  if (!p.remove.empty()) {
    SIGMA_RETURN_IF_ERROR(index->drop_keep(p.remove));
    std::printf("keep '%s' removed: its range follows the retention again\n", p.remove.c_str());
    return {};
  }
  if (p.name.size() > 128) return usage_error("--name: at most 128 characters");
  for (char c : p.name)
    if (static_cast<unsigned char>(c) < 0x20) return usage_error("--name: no control characters");
  int64_t now = unix_ms_now();
  SIGMA_ASSIGN_OR_RETURN(auto range, resolve_range(p.range, now, kMaxKeepMs));
  SIGMA_RETURN_IF_ERROR(index->put_keep({p.name, range.first, range.second, now}));
  std::printf("keep '%s': %s to %s (%s) kept past retention\n", p.name.c_str(), iso(range.first).c_str(),
              iso(range.second).c_str(), format_duration(range.second - range.first).c_str());
  return {};
}

Status run_export_command(const ExportParams& p) {
  SIGMA_RETURN_IF_ERROR(check_channel_dir(p.dir));
  if (p.out.empty()) return usage_error("-o: an output file is required");
  int64_t now = unix_ms_now();
  SIGMA_ASSIGN_OR_RETURN(auto range, resolve_range(p.range, now, kMaxExportMs));
  if (range.first > now)
    return usage_error("--from " + p.range.from + " (" + iso(range.first) + ") is in the future (now is " + iso(now) +
                       ")");
  // The output's place first: an unwritable path fails before any work.
  struct stat st {};
  if (::stat(p.out.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return usage_error("-o " + p.out + ": is a directory");
  std::string out_dir = dir_name(p.out);
  if (::access(out_dir.c_str(), W_OK) != 0)
    return usage_error("-o " + p.out + ": cannot write in " + out_dir + ": " + std::strerror(errno));

  SIGMA_ASSIGN_OR_RETURN(auto index, Index::open(p.dir, Index::Mode::kReadOnly));
  ExportRequest req;
  req.from_ms = range.first;
  req.to_ms = range.second;
  req.variant = p.variant;
  SIGMA_ASSIGN_OR_RETURN(auto plan, plan_export(*index, req));

  // The temp file beside the output, renamed over it once complete. The
  // samples go by copy_file_range (write_fd), which no sink can stop: a
  // SIGTERM or SIGINT meanwhile removes the temp file and exits.
  const std::string tmp = p.out + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("-o " + p.out + ": create " + tmp, errno);
  std::snprintf(g_tmp_path, sizeof g_tmp_path, "%s", tmp.c_str());
  struct sigaction sa {}, old_int {}, old_term {};
  sa.sa_handler = on_stop_during_export;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  Progress progress(p.progress);
  Status written = stop_requested() ? system_error("stopped before the start")
                                    : plan->write_fd(fd, [&](uint64_t done, uint64_t total) { progress.update(done, total); });
  if (written.is_ok() && ::fsync(fd) != 0) written = errno_error("fsync " + tmp, errno);
  if (::close(fd) != 0 && written.is_ok()) written = errno_error("close " + tmp, errno);
  if (written.is_ok() && ::rename(tmp.c_str(), p.out.c_str()) != 0) written = errno_error("rename " + tmp, errno);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!written.is_ok()) {
    ::unlink(tmp.c_str());
    progress.abandon();
    return written.wrap("export to " + p.out + " (nothing written)");
  }
  progress.update(plan->size(), plan->size());
  if (progress.mode() == "json") {
    nlohmann::json done = {{"type", "export.done"},     {"path", p.out},
                           {"bytes", plan->size()},     {"from", iso(plan->from_ms())},
                           {"to", iso(plan->to_ms())},  {"duration_s", plan->duration_s()},
                           {"elapsed_s", progress.elapsed_s()}};
    std::fprintf(stderr, "%s\n", done.dump().c_str());
  } else if (progress.mode() == "bar") {
    std::fprintf(stderr, "%s: %.1f s from %s to %s, %s\n", p.out.c_str(), plan->duration_s(),
                 iso(plan->from_ms()).c_str(), iso(plan->to_ms()).c_str(),
                 format_size(static_cast<int64_t>(plan->size())).c_str());
  }
  return {};
}

}  // namespace sigma::dvr
