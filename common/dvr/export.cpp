// plan_export(): the index rows of one variant (and its audio) -> the
// sample tables of one progressive MP4, from the segments' moof boxes
// alone; write() copies the samples' bytes from the segment files in
// chunks (one segment's run per track), interleaved by time.
//
// Timelines: within one stretch of a source (between breaks) the fMP4
// decode times (tfdt) of audio and video are kept relative to each other
// exactly; each new block of video (after a break, a gap or a missing
// file) follows on from the previous one's end, and the audio of that
// block is moved by the same amount. A change of sample description
// (codec, resolution) inside the range ends the export there: one MP4
// cannot switch sample entries in a way browsers follow.
#include "dvr/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "dvr/mp4_read.h"
#include "dvr/mp4_write.h"
#include "dvr/playlist_scan.h"

namespace sigma::dvr {

namespace {

constexpr int64_t kLookBackMs = 60000;  // how far before from_ms a keyframe is looked for
constexpr size_t kCopyBuffer = 1u << 20;  // 8 MiB measured no better, and worse for the CPU caches
constexpr size_t kDirectBuffer = 8u << 20;  // O_DIRECT: each write waits for the disk, so larger
constexpr off_t kDirectAlign = 4096;

// ---- master.m3u8: which tracks make the variant -------------------------

struct Choice {
  std::string video, audio;  // audio "": in the variant's segments, or none
};

Result<Choice> choose_tracks(const std::string& dir, const std::string& want) {
  SIGMA_ASSIGN_OR_RETURN(MasterListing master, read_master_playlist(dir));
  const auto& variants = master.variants;
  if (variants.empty()) return data_error("the channel's master.m3u8 lists no variant");
  const MasterListing::Variant* pick = nullptr;
  std::string names;
  for (const auto& v : variants) {
    names += (names.empty() ? "" : ", ") + v.ref.track;
    if (want.empty() ? (!pick || v.bandwidth > pick->bandwidth) : v.ref.track == want) pick = pick && !want.empty() ? pick : &v;
  }
  if (!pick) return usage_error("unknown variant " + want + " (the channel has " + names + ")");
  Choice c;
  c.video = pick->ref.track;
  // The group's DEFAULT=YES rendition, else its first.
  if (!pick->audio_group.empty())
    for (const auto& r : master.renditions)
      if (r.type == "AUDIO" && r.group == pick->audio_group && (c.audio.empty() || r.is_default)) c.audio = r.ref.track;
  return c;
}

// ---- the plan -----------------------------------------------------------

struct Piece {
  uint32_t file;
  uint64_t offset, bytes;
};
struct Chunk {
  int track;       // 0 video, 1 audio
  double time;     // start in the output's decode timeline, s
  uint32_t samples = 0;
  std::vector<Piece> pieces;
};

class Plan : public ExportPlan {
 public:
  uint64_t size() const override { return header_.size() + payload_; }
  int64_t from_ms() const override { return from_ms_; }
  int64_t to_ms() const override { return to_ms_; }
  double duration_s() const override { return duration_s_; }
  Status write(const ExportSink& sink, const ExportProgress& progress) const override;
  Status write_fd(int fd, const ExportProgress& progress) const override;
  Result<bool> write_direct(int fd, const ExportProgress& progress) const;

  std::string header_;  // ftyp, moov, mdat header
  uint64_t payload_ = 0;
  int64_t from_ms_ = 0, to_ms_ = 0;
  double duration_s_ = 0;
  std::vector<std::string> files_;
  std::vector<uint64_t> file_min_size_;
  std::vector<Chunk> chunks_;  // in output order
  std::vector<std::shared_ptr<const mp4::Init>> inits_;  // what the tracks' stsd point into
};

Status write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t r = ::write(fd, data, size);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("write", errno);
    data += r;
    size -= static_cast<size_t>(r);
  }
  return {};
}

// The segment file of a piece, opened once for consecutive pieces and
// checked against what the plan saw.
class SourceFile {
 public:
  ~SourceFile() { close(); }
  Status open(const Plan& plan, uint32_t id) {
    if (id == id_) return {};
    close();
    id_ = id;
    const std::string& path = plan.files_[id];
    path_ = &path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return errno_error("open " + path + " (removed since the export was planned?)", errno);
    struct stat sb {};
    if (::fstat(fd_, &sb) != 0 || static_cast<uint64_t>(sb.st_size) < plan.file_min_size_[id])
      return data_error(path + " is shorter than when the export was planned");
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    return {};
  }
  int fd() const { return fd_; }
  // Some bytes at off (at least one, at most want): a file shorter than
  // planned is a data error.
  Result<size_t> read(char* dst, size_t want, uint64_t off) const {
    for (;;) {
      ssize_t r = ::pread(fd_, dst, want, static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return errno_error("read " + *path_, errno);
      if (r == 0) return data_error(*path_ + " ended early");
      return static_cast<size_t>(r);
    }
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    id_ = UINT32_MAX;
  }

 private:
  int fd_ = -1;
  uint32_t id_ = UINT32_MAX;
  const std::string* path_ = nullptr;
};

Status Plan::write(const ExportSink& sink, const ExportProgress& progress) const {
  uint64_t done = 0, total = size();
  SIGMA_RETURN_IF_ERROR(sink(header_.data(), header_.size()));
  done += header_.size();
  if (progress) progress(done, total);
  std::string buf(kCopyBuffer, '\0');
  size_t fill = 0;
  auto flush = [&]() -> Status {
    if (fill == 0) return {};
    SIGMA_RETURN_IF_ERROR(sink(buf.data(), fill));
    done += fill;
    fill = 0;
    if (progress) progress(done, total);
    return {};
  };
  SourceFile src;
  for (const Chunk& c : chunks_) {
    for (const Piece& p : c.pieces) {
      SIGMA_RETURN_IF_ERROR(src.open(*this, p.file));
      uint64_t off = p.offset, left = p.bytes;
      while (left > 0) {
        if (fill == buf.size()) SIGMA_RETURN_IF_ERROR(flush());
        size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf.size() - fill));
        SIGMA_ASSIGN_OR_RETURN(size_t r, src.read(buf.data() + fill, want, off));
        fill += r;
        off += r;
        left -= r;
      }
    }
  }
  SIGMA_RETURN_IF_ERROR(flush());
  if (done != total) return internal_error("export wrote " + std::to_string(done) + " bytes of " + std::to_string(total));
  return {};
}

// O_DIRECT: the output never enters the page cache (an hour is 2.8 GB
// that would evict the live channels' segments), and the kernel's cost of
// filling page cache pages, most of a buffered copy's CPU, is gone.
// Measured on an hour of 6 Mbit/s: 0.2-0.5 s of CPU against 1.4-2.9 s by
// copy_file_range and 3-6 s by write(). Returns false (nothing written,
// the fd as it was) where the file system refuses O_DIRECT.
Result<bool> Plan::write_direct(int fd, const ExportProgress& progress) const {
  off_t start = ::lseek(fd, 0, SEEK_CUR);
  int flags = ::fcntl(fd, F_GETFL);
  if (start < 0 || start % kDirectAlign != 0 || flags < 0 || size() < static_cast<uint64_t>(kDirectAlign)) return false;
  if (::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) return false;
  struct Restore {
    int fd, flags;
    ~Restore() { ::fcntl(fd, F_SETFL, flags); }
  } restore{fd, flags};
  void* mem = nullptr;
  if (::posix_memalign(&mem, kDirectAlign, kDirectBuffer) != 0) return false;
  std::unique_ptr<char, decltype(&std::free)> buf(static_cast<char*>(mem), &std::free);
  uint64_t done = 0, total = size();
  size_t fill = 0;
  auto put = [&](size_t n, bool direct) -> Result<bool> {  // writes buf[0, n)
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::write(fd, buf.get() + off, n - off);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EINVAL && direct && done == 0 && off == 0) return false;
      if (r < 0) return errno_error("write", errno);
      off += static_cast<size_t>(r);
    }
    done += n;
    return true;
  };
  auto flush_full = [&]() -> Result<bool> {
    SIGMA_ASSIGN_OR_RETURN(bool ok, put(fill, true));
    fill = 0;
    if (ok && progress) progress(done, total);
    return ok;
  };
  std::memcpy(buf.get(), header_.data(), header_.size());  // the header is far smaller than the buffer
  fill = header_.size();
  SourceFile src;
  for (const Chunk& c : chunks_) {
    for (const Piece& p : c.pieces) {
      SIGMA_RETURN_IF_ERROR(src.open(*this, p.file));
      uint64_t off = p.offset, left = p.bytes;
      while (left > 0) {
        if (fill == kDirectBuffer) {
          SIGMA_ASSIGN_OR_RETURN(bool ok, flush_full());
          if (!ok) return false;
        }
        size_t want = static_cast<size_t>(std::min<uint64_t>(left, kDirectBuffer - fill));
        SIGMA_ASSIGN_OR_RETURN(size_t r, src.read(buf.get() + fill, want, off));
        fill += r;
        off += r;
        left -= r;
      }
    }
  }
  // The aligned part directly, the tail through the page cache.
  size_t aligned = fill / kDirectAlign * kDirectAlign;
  if (aligned > 0) {
    SIGMA_ASSIGN_OR_RETURN(bool ok, put(aligned, true));
    if (!ok) return false;
    std::memmove(buf.get(), buf.get() + aligned, fill - aligned);
    fill -= aligned;
  }
  if (::fcntl(fd, F_SETFL, flags) != 0) return errno_error("fcntl", errno);
  if (fill > 0) SIGMA_RETURN_IF_ERROR(put(fill, false).status());
  if (progress) progress(done, total);
  if (done != total) return internal_error("export wrote " + std::to_string(done) + " bytes of " + std::to_string(total));
  return true;
}

Status Plan::write_fd(int fd, const ExportProgress& progress) const {
  auto direct = write_direct(fd, progress);
  if (!direct) return direct.status();
  if (*direct) return {};
  uint64_t done = 0, total = size(), reported = 0;
  SIGMA_RETURN_IF_ERROR(write_all(fd, header_.data(), header_.size()));
  done += header_.size();
  if (progress) progress(done, total);
  bool kernel_copy = true;
  std::string buf;
  SourceFile src;
  for (const Chunk& c : chunks_) {
    for (const Piece& p : c.pieces) {
      SIGMA_RETURN_IF_ERROR(src.open(*this, p.file));
      off_t off = static_cast<off_t>(p.offset);
      uint64_t left = p.bytes;
      while (left > 0 && kernel_copy) {
        ssize_t r = ::copy_file_range(src.fd(), &off, fd, nullptr, static_cast<size_t>(left), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF || errno == ETXTBSY)) {
          kernel_copy = false;  // this pair of files cannot: through a buffer from here on
          break;
        }
        if (r < 0) return errno_error("copy " + files_[p.file], errno);
        if (r == 0) return data_error(files_[p.file] + " ended early");
        left -= static_cast<uint64_t>(r);
        done += static_cast<uint64_t>(r);
      }
      while (left > 0) {
        if (buf.empty()) buf.resize(kCopyBuffer);
        size_t want = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
        SIGMA_ASSIGN_OR_RETURN(size_t r, src.read(buf.data(), want, static_cast<uint64_t>(off)));
        SIGMA_RETURN_IF_ERROR(write_all(fd, buf.data(), r));
        off += static_cast<off_t>(r);
        left -= r;
        done += r;
      }
      if (progress && done - reported >= kCopyBuffer) progress(reported = done, total);
    }
  }
  if (progress) progress(done, total);
  if (done != total) return internal_error("export wrote " + std::to_string(done) + " bytes of " + std::to_string(total));
  return {};
}

// A segment file read: its init and samples, per track.
struct Loaded {
  std::shared_ptr<const mp4::Init> init;
  std::vector<mp4::Fragments> frags;
  const mp4::Fragments* track(uint32_t id) const {
    for (const auto& f : frags)
      if (f.track_id == id) return &f;
    return nullptr;
  }
};

// A stretch of video that follows on in the output.
struct Block {
  int epoch;
  int64_t src_start = 0, src_end = 0;  // video decode time in the source, video ticks
  int64_t out_start = 0;               // where it starts in the output, video ticks
  int32_t first_cto = 0;
};

class Planner {
 public:
  Planner(const Index& index, const ExportRequest& req) : index_(index), req_(req), dir_(index.channel_dir()) {}
  Result<std::unique_ptr<ExportPlan>> run();

 private:
  Result<std::shared_ptr<const mp4::Init>> init(const std::string& uri);
  // nullptr: a gap, or a file that is not there (logged).
  const Loaded* load(const SegmentRow& row);
  uint32_t file_id(const std::string& uri, uint64_t min_size);
  void add_sample(Chunk*& chunk, int track, uint32_t file, const mp4::Sample& s, double time);
  Status video(const Choice& c);
  Status audio(const Choice& c);
  Result<std::unique_ptr<ExportPlan>> layout();

  const Index& index_;
  const ExportRequest& req_;
  std::string dir_;
  std::map<std::string, std::shared_ptr<const mp4::Init>> inits_;
  std::map<std::string, std::unique_ptr<Loaded>> loaded_;
  std::map<std::string, uint32_t> file_ids_;
  std::unique_ptr<Plan> plan_ = std::make_unique<Plan>();
  std::vector<Chunk> chunks_;
  mp4::OutTrack out_[2];
  std::shared_ptr<const mp4::Init> v_init_, a_init_;
  uint32_t v_id_ = 0, a_id_ = 0;
  bool muxed_ = false;
  uint32_t vts_ = 1, ats_ = 1;
  std::vector<SegmentRow> vrows_;
  std::vector<size_t> vrow_used_;     // indexes into vrows_
  std::vector<int> vrow_epoch_;       // per used row
  std::vector<Block> blocks_;
  std::vector<std::pair<int64_t, int64_t>> epoch_wall_;  // per epoch
  int64_t stop_ms_ = 0;
  int64_t start_wall_ = 0, end_wall_ = 0;
  std::string stop_reason_;
};

Result<std::shared_ptr<const mp4::Init>> Planner::init(const std::string& uri) {
  if (auto it = inits_.find(uri); it != inits_.end()) return it->second;
  auto bytes = read_file(dir_ + "/" + uri);
  if (!bytes) return bytes.status().wrap("read init segment " + uri);
  auto parsed = mp4::parse_init(*bytes);
  if (!parsed) return parsed.status().wrap("init segment " + uri);
  auto p = std::make_shared<const mp4::Init>(std::move(*parsed));
  inits_[uri] = p;
  return p;
}

const Loaded* Planner::load(const SegmentRow& row) {
  if (row.gap || row.uri.empty()) return nullptr;
  if (auto it = loaded_.find(row.uri); it != loaded_.end()) return it->second.get();
  auto l = std::make_unique<Loaded>();
  auto in = init(row.init);
  if (!in) {
    spdlog::warn("export: {}: {}; skipped", row.uri, in.status().message());
    loaded_[row.uri] = nullptr;
    return nullptr;
  }
  l->init = *in;
  auto f = mp4::read_fragments(dir_ + "/" + row.uri, *l->init);
  if (!f) {
    spdlog::warn("export: {}; skipped", f.status().message());
    loaded_[row.uri] = nullptr;
    return nullptr;
  }
  l->frags = std::move(*f);
  return (loaded_[row.uri] = std::move(l)).get();
}

uint32_t Planner::file_id(const std::string& uri, uint64_t min_size) {
  auto [it, fresh] = file_ids_.try_emplace(uri, static_cast<uint32_t>(plan_->files_.size()));
  if (fresh) {
    plan_->files_.push_back(dir_ + "/" + uri);
    plan_->file_min_size_.push_back(0);
  }
  plan_->file_min_size_[it->second] = std::max(plan_->file_min_size_[it->second], min_size);
  return it->second;
}

void Planner::add_sample(Chunk*& chunk, int track, uint32_t file, const mp4::Sample& s, double time) {
  if (!chunk) {
    chunks_.push_back({track, time, 0, {}});
    chunk = &chunks_.back();
  }
  ++chunk->samples;
  if (!chunk->pieces.empty() && chunk->pieces.back().file == file &&
      chunk->pieces.back().offset + chunk->pieces.back().bytes == s.offset)
    chunk->pieces.back().bytes += s.size;
  else
    chunk->pieces.push_back({file, s.offset, s.size});
  out_[track].add(s.size, s.duration, s.cto, s.sync);
}

// Wall-clock ms of a sample at decode time dts in a segment starting at
// row.start_ms with decode time base.
int64_t wall_of(const SegmentRow& row, int64_t dts, int64_t base, uint32_t ts) {
  return row.start_ms + (dts - base) * 1000 / static_cast<int64_t>(ts);
}

Status Planner::video(const Choice& c) {
  SIGMA_ASSIGN_OR_RETURN(vrows_, index_.segments(c.video, req_.from_ms - kLookBackMs, req_.to_ms));
  auto vtrack = [&](const Loaded* l) -> const mp4::Fragments* {
    const mp4::InitTrack* t = l->init->find("vide");
    return t ? l->track(t->track_id) : nullptr;
  };
  // The keyframe at or before from_ms, in the segment holding from_ms or
  // the ones before it without a break in between.
  long k0 = -1;
  size_t j0 = 0;
  long holding = -1;
  for (size_t k = 0; k < vrows_.size(); ++k)
    if (vrows_[k].start_ms <= req_.from_ms && req_.from_ms < vrows_[k].end_ms()) holding = static_cast<long>(k);
  for (long k = holding; k >= 0 && k0 < 0; --k) {
    const Loaded* l = load(vrows_[k]);
    const mp4::Fragments* f = l ? vtrack(l) : nullptr;
    if (!f) break;
    uint32_t ts = l->init->find("vide")->timescale;
    int64_t dts = f->base_dts;
    for (size_t j = 0; j < f->samples.size(); ++j) {
      if (wall_of(vrows_[k], dts, f->base_dts, ts) > req_.from_ms) break;
      if (f->samples[j].sync) k0 = k, j0 = j;
      dts += f->samples[j].duration;
    }
    if (vrows_[k].discontinuity || (k > 0 && vrows_[k - 1].end_ms() + kHoleMs < vrows_[k].start_ms)) break;
  }
  // Else the first keyframe after it.
  for (size_t k = holding < 0 ? 0 : static_cast<size_t>(holding); k0 < 0 && k < vrows_.size(); ++k) {
    if (vrows_[k].start_ms >= req_.to_ms) break;
    const Loaded* l = load(vrows_[k]);
    const mp4::Fragments* f = l ? vtrack(l) : nullptr;
    if (!f) continue;
    uint32_t ts = l->init->find("vide")->timescale;
    int64_t dts = f->base_dts;
    for (size_t j = 0; j < f->samples.size(); ++j) {
      int64_t w = wall_of(vrows_[k], dts, f->base_dts, ts);
      if (w >= req_.to_ms) break;
      if (f->samples[j].sync && w >= req_.from_ms) {
        k0 = static_cast<long>(k), j0 = j;
        break;
      }
      dts += f->samples[j].duration;
    }
  }
  if (k0 < 0) return {};  // nothing: run() says so

  const Loaded* first = load(vrows_[k0]);
  v_init_ = first->init;
  const mp4::InitTrack* vt = v_init_->find("vide");
  v_id_ = vt->track_id;
  vts_ = vt->timescale;
  if (c.audio.empty()) {
    if (const mp4::InitTrack* at = v_init_->find("soun")) {
      muxed_ = true;
      a_init_ = v_init_;
      a_id_ = at->track_id;
      ats_ = at->timescale;
    }
  }
  stop_ms_ = req_.to_ms;
  // The audio rendition's sample description must hold too.
  if (!c.audio.empty()) {
    auto arows = index_.segments(c.audio, vrows_[k0].start_ms, req_.to_ms);
    if (!arows) return arows.status();
    for (const auto& r : *arows) {
      if (r.gap || r.uri.empty()) continue;
      auto in = init(r.init);
      if (!in) continue;
      const mp4::InitTrack* at = (*in)->find("soun");
      if (!at) continue;
      if (!a_init_) {
        a_init_ = *in, a_id_ = at->track_id, ats_ = at->timescale;
      } else if (at->stsd != a_init_->find("soun")->stsd || at->timescale != ats_) {
        if (r.start_ms < stop_ms_) {
          stop_ms_ = r.start_ms;
          stop_reason_ = "the audio's codec parameters change (" + r.init + ")";
        }
        break;
      }
    }
  }

  Chunk* chunk = nullptr;
  int epoch = 0;
  int64_t out_dts = 0;
  int64_t prev_end = 0;
  bool brk = true;
  for (size_t k = static_cast<size_t>(k0); k < vrows_.size(); ++k) {
    const SegmentRow& row = vrows_[k];
    if (row.start_ms >= stop_ms_) break;
    const Loaded* l = load(row);
    const mp4::Fragments* f = l ? vtrack(l) : nullptr;
    if (static_cast<long>(k) > k0) {
      if (row.discontinuity) ++epoch, brk = true;
      if (!f) {
        brk = true;
        continue;
      }
      const mp4::InitTrack* t = l->init->find("vide");
      bool same = t->stsd == vt->stsd && t->timescale == vts_;
      if (muxed_) {
        const mp4::InitTrack* a = l->init->find("soun");
        same = same && a && a->stsd == a_init_->find("soun")->stsd;
      }
      if (!same) {
        stop_ms_ = row.start_ms;
        stop_reason_ = "the video's codec parameters change (" + row.init + ")";
        break;
      }
      if (std::llabs(f->base_dts - prev_end) > vts_ / 2) brk = true;  // a jump or missing segments
    }
    uint32_t file = file_id(row.uri, 0);
    chunk = nullptr;
    int64_t dts = f->base_dts;
    size_t j = static_cast<long>(k) == k0 ? j0 : 0;
    for (size_t i = 0; i < j; ++i) dts += f->samples[i].duration;
    for (; j < f->samples.size(); ++j) {
      const mp4::Sample& s = f->samples[j];
      int64_t w = wall_of(row, dts, f->base_dts, vts_);
      if (w >= stop_ms_) break;
      if (brk) {
        if (!s.sync) {  // a block starts on a keyframe
          dts += s.duration;
          continue;
        }
        blocks_.push_back({epoch, dts, dts, out_dts, s.cto});
        if (epoch_wall_.size() <= static_cast<size_t>(epoch)) epoch_wall_.resize(epoch + 1, {w, w});
        if (blocks_.size() == 1) start_wall_ = w;
        brk = false;
      }
      add_sample(chunk, 0, file, s, static_cast<double>(out_dts) / vts_);
      plan_->file_min_size_[file] = std::max(plan_->file_min_size_[file], s.offset + s.size);
      dts += s.duration;
      out_dts += s.duration;
      blocks_.back().src_end = dts;
      end_wall_ = wall_of(row, dts, f->base_dts, vts_);
      epoch_wall_[epoch].second = end_wall_;
    }
    if (chunk) vrow_used_.push_back(k), vrow_epoch_.push_back(epoch);
    prev_end = f->base_dts + f->duration();
  }
  if (!stop_reason_.empty() && stop_ms_ < req_.to_ms)
    spdlog::warn("export: {}: {} at {}; the export ends there (one MP4 keeps one sample description)",
                 c.video, stop_reason_, iso8601_utc(stop_ms_));
  return {};
}

Status Planner::audio(const Choice& c) {
  if (!a_init_ || blocks_.empty()) return {};
  std::vector<SegmentRow> arows;
  std::vector<int> aepoch;
  if (muxed_) {
    for (size_t i = 0; i < vrow_used_.size(); ++i) arows.push_back(vrows_[vrow_used_[i]]), aepoch.push_back(vrow_epoch_[i]);
  } else {
    SIGMA_ASSIGN_OR_RETURN(auto rows, index_.segments(c.audio, start_wall_ - 5000, end_wall_ + 5000));
    for (auto& r : rows) {
      // Its stretch of the source: the video epoch it overlaps most.
      int best = -1;
      int64_t best_overlap = 0;
      for (size_t e = 0; e < epoch_wall_.size(); ++e) {
        int64_t o = std::min(r.end_ms(), epoch_wall_[e].second) - std::max(r.start_ms, epoch_wall_[e].first);
        if (o > best_overlap) best = static_cast<int>(e), best_overlap = o;
      }
      if (best < 0) continue;
      arows.push_back(std::move(r));
      aepoch.push_back(best);
    }
  }
  mp4::OutTrack& a = out_[1];
  const mp4::Sample* prev = nullptr;
  int64_t cursor = 0;  // audio ticks in the output's decode timeline
  bool started = false;
  const mp4::InitTrack* want = a_init_->find("soun");
  size_t hint = 0;
  for (size_t i = 0; i < arows.size(); ++i) {
    const Loaded* l = load(arows[i]);
    if (!l) continue;
    const mp4::InitTrack* t = l->init->find("soun");
    if (!t || t->stsd != want->stsd || t->timescale != ats_) continue;
    const mp4::Fragments* f = l->track(t->track_id);
    if (!f) continue;
    uint32_t file = file_id(arows[i].uri, 0);
    Chunk* chunk = nullptr;
    int64_t dts = f->base_dts;
    for (const mp4::Sample& s : f->samples) {
      double mid = (static_cast<double>(dts) + s.duration / 2.0) / ats_;
      dts += s.duration;
      // Its block: most often the previous frame's (a long archive with
      // many breaks must not cost blocks x frames).
      const Block* b = nullptr;
      for (size_t n = 0; n < blocks_.size() && !b; ++n) {
        const Block& blk = blocks_[(hint + n) % blocks_.size()];
        if (blk.epoch != aepoch[i]) continue;
        double from = static_cast<double>(blk.src_start + blk.first_cto) / vts_;
        double to = static_cast<double>(blk.src_end + blk.first_cto) / vts_;
        if (mid >= from && mid < to) b = &blk, hint = (hint + n) % blocks_.size();
      }
      if (!b) continue;
      double shift = static_cast<double>(b->src_start - b->out_start) / vts_;
      int64_t pos = std::llround((mid - shift) * ats_ - s.duration / 2.0);
      if (!started) {
        started = true;
        cursor = pos;
        double movie = static_cast<double>(pos) / ats_ - static_cast<double>(blocks_[0].first_cto > 0 ? blocks_[0].first_cto : 0) / vts_;
        if (movie >= 0) a.empty_movie = std::llround(movie * mp4::kMovieTimescale);
        else a.media_time = std::llround(-movie * ats_);
      } else if (pos < cursor - static_cast<int64_t>(s.duration) / 2) {
        continue;  // overlaps what is there
      } else if (pos > cursor + static_cast<int64_t>(s.duration) / 2 && !a.durations.empty()) {
        a.extend_last(static_cast<uint32_t>(pos - cursor));  // a hole: the previous frame lasts longer
        cursor = pos;
      }
      add_sample(chunk, 1, file, s, static_cast<double>(cursor) / ats_);
      plan_->file_min_size_[file] = std::max(plan_->file_min_size_[file], s.offset + s.size);
      cursor += s.duration;
      prev = &s;
    }
  }
  (void)prev;
  return {};
}

Result<std::unique_ptr<ExportPlan>> Planner::layout() {
  out_[0].init = v_init_->find("vide");
  out_[0].id = 1;
  if (blocks_[0].first_cto > 0) out_[0].media_time = blocks_[0].first_cto;
  std::vector<int> order;  // tracks in the output
  order.push_back(0);
  if (!out_[1].sizes.empty()) {
    out_[1].init = a_init_->find("soun");
    out_[1].id = 2;
    order.push_back(1);
  }
  std::stable_sort(chunks_.begin(), chunks_.end(), [](const Chunk& x, const Chunk& y) { return x.time < y.time; });
  uint64_t payload = 0;
  for (const Chunk& ch : chunks_) {
    out_[ch.track].chunk_samples.push_back(ch.samples);
    for (const Piece& p : ch.pieces) payload += p.bytes;
  }
  std::vector<mp4::OutTrack> tracks;
  auto header_for = [&](bool co64) -> Result<uint64_t> {
    tracks.clear();
    for (int t : order) tracks.push_back(out_[t]);
    for (auto& t : tracks) t.chunk_offsets.assign(t.chunk_samples.size(), 0);
    SIGMA_ASSIGN_OR_RETURN(std::string h, mp4::build_header(tracks, co64));
    return h.size() + mp4::mdat_header(payload).size();
  };
  bool co64 = false;
  SIGMA_ASSIGN_OR_RETURN(uint64_t data_at, header_for(false));
  if (data_at + payload > UINT32_MAX) {
    co64 = true;
    SIGMA_ASSIGN_OR_RETURN(data_at, header_for(true));
  }
  size_t idx[2] = {0, 0};
  uint64_t at = data_at;
  for (const Chunk& ch : chunks_) {
    size_t ti = ch.track == 0 ? 0 : 1;
    tracks[ti].chunk_offsets[idx[ti]++] = at;
    for (const Piece& p : ch.pieces) at += p.bytes;
  }
  SIGMA_ASSIGN_OR_RETURN(std::string h, mp4::build_header(tracks, co64));
  h += mp4::mdat_header(payload);
  if (h.size() != data_at) return internal_error("moov size changed with its offsets");
  plan_->header_ = std::move(h);
  plan_->payload_ = payload;
  plan_->chunks_ = std::move(chunks_);
  plan_->from_ms_ = start_wall_;
  plan_->to_ms_ = end_wall_;
  plan_->duration_s_ = static_cast<double>(out_[0].media_duration()) / vts_;
  plan_->inits_ = {v_init_, a_init_};
  return std::unique_ptr<ExportPlan>(std::move(plan_));
}

Result<std::unique_ptr<ExportPlan>> Planner::run() {
  if (req_.to_ms <= req_.from_ms) return usage_error("the range ends before it starts");
  SIGMA_ASSIGN_OR_RETURN(Choice c, choose_tracks(dir_, req_.variant));
  SIGMA_RETURN_IF_ERROR(video(c));
  if (blocks_.empty())
    return data_error("nothing archived between " + iso8601_utc(req_.from_ms) + " and " +
                      iso8601_utc(req_.to_ms) + " (variant " + c.video + ")");
  SIGMA_RETURN_IF_ERROR(audio(c));
  if (a_init_ && out_[1].sizes.empty()) spdlog::warn("export: no audio archived in the range; video only");
  return layout();
}

}  // namespace

Status ExportPlan::write_fd(int fd, const ExportProgress& progress) const {
  return write([fd](const char* data, size_t size) { return write_all(fd, data, size); }, progress);
}

Result<std::unique_ptr<ExportPlan>> plan_export(const Index& index, const ExportRequest& req) {
  Planner p(index, req);
  return p.run();
}

}  // namespace sigma::dvr
