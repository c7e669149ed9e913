#include "ingest/failover.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "package/param_sets.h"

namespace sigma::ingest {

namespace {
constexpr AVRational kMs{1, 1000};
constexpr size_t kMaxGopBytes = 16 << 20;   // a waiting input's newest GOP
constexpr size_t kMaxPullQueue = 8 << 20;   // a pulled backup's packets not yet taken

// avcC (FLV's H.264 sequence header) to Annex B SPS/PPS.
std::string avcc_to_annexb(const uint8_t* d, size_t n) {
  std::string out;
  if (n < 7 || d[0] != 1) return out;
  size_t pos = 5;
  for (int pass = 0; pass < 2 && pos < n; ++pass) {
    int count = pass == 0 ? (d[pos] & 0x1f) : d[pos];
    ++pos;
    for (int i = 0; i < count && pos + 2 <= n; ++i) {
      size_t len = size_t(d[pos]) << 8 | d[pos + 1];
      pos += 2;
      if (pos + len > n) return out;
      out.append("\0\0\0\1", 4);
      out.append(reinterpret_cast<const char*>(d + pos), len);
      pos += len;
    }
  }
  return out;
}

av::CodecParPtr copy_par(const AVCodecParameters* p) {
  av::CodecParPtr c(avcodec_parameters_alloc());
  if (c && avcodec_parameters_copy(c.get(), p) < 0) c.reset();
  return c;
}

std::vector<const AVCodecParameters*> raw(const std::vector<av::CodecParPtr>& v) {
  std::vector<const AVCodecParameters*> out;
  for (auto& p : v) out.push_back(p.get());
  return out;
}
}  // namespace

std::string FailoverSettings::describe() const {
  return "failover " + std::to_string(backup_key.size()) + " " + backup_url + " " + slate + " " +
         std::to_string(failover_after_ms) + " " + std::to_string(failback_after_ms);
}

// ---------------------------------------------------------------------------

struct InputSwitch::Port : MediaSink {
  Port(InputSwitch& s, Source src) : sw(s), source(src) {}
  Status open(const std::vector<const AVCodecParameters*>& streams) override { return sw.on_open(source, streams); }
  Status write(int index, AVPacket* pkt, AVRational tb) override { return sw.on_write(source, index, pkt, tb); }
  Status finish() override { return sw.on_finish(source); }
  bool is_open() const override { return sw.in_[int(source)].open; }
  InputSwitch& sw;
  Source source;
};

struct InputSwitch::Job {
  std::thread thread;
  std::atomic<bool> done{false};
  std::string key;
  Status status;
  std::shared_ptr<av::Slate> slate;
};

const char* InputSwitch::name(Source s) {
  switch (s) {
    case Source::kPrimary: return "primary";
    case Source::kBackup: return "backup";
    case Source::kSlate: return "slate";
    default: return "none";
  }
}

InputSwitch::InputSwitch(std::string channel, FailoverSettings s, std::vector<MediaSink*> outputs,
                         EventWriter& events)
    : channel_(std::move(channel)), s_(std::move(s)), outputs_(std::move(outputs)), events_(events) {
  primary_port_ = std::make_unique<Port>(*this, Source::kPrimary);
  backup_port_ = std::make_unique<Port>(*this, Source::kBackup);
  if (!s_.backup_url.empty()) {
    pull_ = std::make_unique<BackupPull>(s_.backup_url, channel_);
    pull_->start();
  }
}

InputSwitch::~InputSwitch() {
  pull_.reset();
  if (job_ && job_->thread.joinable()) job_->thread.join();
}

MediaSink& InputSwitch::primary_port() { return *primary_port_; }
MediaSink& InputSwitch::backup_port() { return *backup_port_; }

void InputSwitch::note(const Status& st) {
  if (!st.is_ok()) spdlog::warn("channel {}: failover output: {}", channel_, st.message());
}

bool InputSwitch::live(const Input& in, int64_t now) const {
  return in.open && in.last_media_ms >= 0 && now - in.last_media_ms < s_.failover_after_ms &&
         (in.video < 0 || in.seen_key);
}

Status InputSwitch::on_open(Source src, const std::vector<const AVCodecParameters*>& streams) {
  Input& in = in_[int(src)];
  in.pars.clear();
  in.video = -1;
  for (size_t i = 0; i < streams.size(); ++i) {
    auto c = copy_par(streams[i]);
    if (!c) return internal_error("out of memory");
    if (c->codec_type == AVMEDIA_TYPE_VIDEO && in.video < 0) in.video = int(i);
    in.pars.push_back(std::move(c));
  }
  in.open = true;
  in.seen_key = false;
  in.mapped = false;
  in.live_since_ms = -1;
  in.gop.clear();
  in.gop_bytes = 0;
  in.last_key_dts = AV_NOPTS_VALUE;
  in.frames_since_key = 0;
  learn_profile(in);
  if (src == active_) {
    // The active input came back within the threshold (a reconnect, a new
    // sequence header): its new streams go out after one discontinuity.
    if (out_open_) SIGMA_RETURN_IF_ERROR(finish_outputs());
    SIGMA_RETURN_IF_ERROR(open_outputs(raw(in.pars)));
    floor_ms_ = out_end_ms_;
  }
  return {};
}

Status InputSwitch::on_write(Source src, int index, AVPacket* pkt, AVRational tb) {
  int64_t now = monotonic_ms();
  Input& in = in_[int(src)];
  if (!in.open || index < 0 || size_t(index) >= in.pars.size()) {
    av_packet_unref(pkt);
    return {};
  }
  bool video = index == in.video;
  bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (in.live_since_ms < 0 || in.last_media_ms < 0 || now - in.last_media_ms >= s_.failover_after_ms)
    in.live_since_ms = now;
  in.last_media_ms = now;
  if (video) {
    int64_t dts = av_rescale_q(pkt->dts, tb, kMs);
    if (key) {
      if (in.last_key_dts != AV_NOPTS_VALUE && dts > in.last_key_dts && in.frames_since_key > 0) {
        bool changed = in.gop_frames != in.frames_since_key;
        in.gop_ms = dts - in.last_key_dts;
        in.gop_frames = in.frames_since_key;
        if (changed) learn_profile(in);
      }
      in.last_key_dts = dts;
      in.frames_since_key = 0;
      in.seen_key = true;
    }
    ++in.frames_since_key;
  }
  bool starts_gop = (video && key) || in.video < 0;
  if (active_ == Source::kNone && src == Source::kPrimary && starts_gop)
    SIGMA_RETURN_IF_ERROR(activate(Source::kPrimary, "start", now));
  if (src == active_) {
    if (!out_open_ || (!in.mapped && !starts_gop)) {
      av_packet_unref(pkt);
      return {};
    }
    return forward(in, index, pkt, tb);
  }
  if (src == Source::kPrimary && failback_pending_ && starts_gop) {
    in.gop.clear();
    in.gop_bytes = 0;
    SIGMA_RETURN_IF_ERROR(activate(Source::kPrimary, "recovered", now));
    return forward(in, index, pkt, tb);
  }
  // Waiting: keep the newest GOP so that a switch to this input starts now.
  if (starts_gop && video) {
    in.gop.clear();
    in.gop_bytes = 0;
  }
  if (in.video >= 0 && !in.seen_key) {
    av_packet_unref(pkt);
    return {};
  }
  if (in.gop_bytes + size_t(pkt->size) > kMaxGopBytes) {
    in.gop.clear();
    in.gop_bytes = 0;
    in.seen_key = false;  // until the next keyframe
    av_packet_unref(pkt);
    return {};
  }
  Held h{index, av::make_packet(), tb};
  av_packet_move_ref(h.pkt.get(), pkt);
  in.gop_bytes += size_t(h.pkt->size);
  in.gop.push_back(std::move(h));
  return {};
}

Status InputSwitch::on_finish(Source src) {
  Input& in = in_[int(src)];
  in.open = false;
  in.gop.clear();
  in.gop_bytes = 0;
  in.live_since_ms = -1;
  // What the active input sent reaches the playlist now, not at the switch.
  if (src == active_ && out_open_) return finish_outputs();
  return {};
}

Status InputSwitch::open_outputs(const std::vector<const AVCodecParameters*>& pars) {
  Status first;
  for (auto* o : outputs_) {
    Status st = o->open(pars);
    if (first.is_ok()) first = st;
  }
  out_open_ = true;
  note(first);
  return {};
}

Status InputSwitch::finish_outputs() {
  Status first;
  for (auto* o : outputs_)
    if (o->is_open()) {
      Status st = o->finish();
      if (first.is_ok()) first = st;
    }
  out_open_ = false;
  note(first);
  return {};
}

Status InputSwitch::forward(Input& in, int index, AVPacket* pkt, AVRational tb) {
  av_packet_rescale_ts(pkt, tb, kMs);
  if (pkt->dts == AV_NOPTS_VALUE) pkt->dts = pkt->pts;
  if (pkt->dts == AV_NOPTS_VALUE) {
    av_packet_unref(pkt);
    return {};
  }
  if (!in.mapped) {
    in.offset_ms = out_end_ms_ == INT64_MIN ? 0 : out_end_ms_ - pkt->dts;
    in.mapped = true;
  }
  pkt->dts += in.offset_ms;
  if (pkt->pts != AV_NOPTS_VALUE) pkt->pts += in.offset_ms;
  if (floor_ms_ != INT64_MIN && pkt->dts < floor_ms_) {
    av_packet_unref(pkt);  // an audio frame from before the keyframe we started on
    return {};
  }
  bool video = index == in.video;
  int64_t frame = in.gop_frames > 0 ? std::max<int64_t>(1, in.gop_ms / in.gop_frames) : 33;
  int64_t dur = pkt->duration > 0 ? pkt->duration : (video ? frame : 21);
  int64_t top = std::max(pkt->dts, pkt->pts == AV_NOPTS_VALUE ? pkt->dts : pkt->pts);
  out_end_ms_ = std::max(out_end_ms_ == INT64_MIN ? top + dur : out_end_ms_, top + dur);
  last_out_ms_ = monotonic_ms();
  started_ = true;
  Status first;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    Status st;
    if (i + 1 < outputs_.size()) {
      if (av_packet_ref(scratch_.get(), pkt) < 0) return internal_error("out of memory");
      st = outputs_[i]->write(index, scratch_.get(), kMs);
    } else {
      st = outputs_[i]->write(index, pkt, kMs);
    }
    if (first.is_ok()) first = st;
  }
  if (outputs_.empty()) av_packet_unref(pkt);
  return first;
}

Status InputSwitch::activate(Source src, const std::string& reason, int64_t now) {
  Source from = active_;
  if (out_open_) SIGMA_RETURN_IF_ERROR(finish_outputs());
  floor_ms_ = out_end_ms_;
  if (src == Source::kSlate) {
    std::vector<const AVCodecParameters*> pars = {slate_->video.get()};
    if (slate_->audio) pars.push_back(slate_->audio.get());
    SIGMA_RETURN_IF_ERROR(open_outputs(pars));
    slate_start_ms_ = now;
    slate_frames_ = slate_audio_ = 0;
    slate_base_ms_ = out_end_ms_ == INT64_MIN ? 0 : out_end_ms_;
  } else {
    Input& in = in_[int(src)];
    SIGMA_RETURN_IF_ERROR(open_outputs(raw(in.pars)));
    in.mapped = false;
  }
  active_ = src;
  active_since_ms_ = now;
  switched_unix_ms_ = unix_ms_now();
  failback_pending_ = false;
  warned_no_slate_ = false;
  if (from != Source::kNone) {
    ++switches_;
    last_reason_ = reason;
    int64_t gap = last_out_ms_ >= 0 ? now - last_out_ms_ : 0;
    spdlog::info("channel {}: input switched from {} to {} ({}; {} ms after the last packet out)", channel_,
                 name(from), name(src), reason, gap);
    events_.emit("input.switched", channel_,
                 {{"from", name(from)}, {"to", name(src)}, {"reason", reason}, {"gap_ms", gap}});
  }
  if (src == Source::kSlate) return emit_slate(now);
  if (reason != "recovered" && reason != "start") {
    // Lost input: start from the newest GOP the other input sent.
    Input& in = in_[int(src)];
    std::deque<Held> held;
    held.swap(in.gop);
    in.gop_bytes = 0;
    for (auto& h : held) SIGMA_RETURN_IF_ERROR(forward(in, h.index, h.pkt.get(), h.tb));
  }
  return {};
}

Status InputSwitch::emit_slate(int64_t now) {
  if (!slate_ || slate_->frames.empty()) return {};
  const av::Slate& sl = *slate_;
  int64_t elapsed = now - slate_start_ms_;
  auto vtime = [&](int64_t i) { return av_rescale(i * 1000, sl.fps.den, sl.fps.num); };
  auto atime = [&](int64_t k) { return sl.sample_rate > 0 ? av_rescale(k * 1024, 1000, sl.sample_rate) : INT64_MAX; };
  auto send = [&](int index, const std::string& data, int64_t t, int64_t dur, bool key) -> Status {
    AVPacket* p = scratch_.get();
    int r = av_new_packet(p, int(data.size()));
    if (r < 0) return av::av_status(r, "allocate packet");
    std::memcpy(p->data, data.data(), data.size());
    p->dts = p->pts = slate_base_ms_ + t;
    p->duration = dur;
    if (key) p->flags |= AV_PKT_FLAG_KEY;
    out_end_ms_ = std::max(out_end_ms_ == INT64_MIN ? p->dts + dur : out_end_ms_, p->dts + dur);
    last_out_ms_ = now;
    Status first;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      Status st;
      if (i + 1 < outputs_.size()) {
        auto copy = av::make_packet();
        if (av_packet_ref(copy.get(), p) < 0) return internal_error("out of memory");
        st = outputs_[i]->write(index, copy.get(), kMs);
      } else {
        st = outputs_[i]->write(index, p, kMs);
      }
      if (first.is_ok()) first = st;
    }
    av_packet_unref(p);
    return first;
  };
  // The first GOP goes out at once, so that its segment (or part) reaches
  // the playlist right at the switch; the rest follows in real time, a GOP
  // ahead.
  int64_t lead = vtime(sl.gop_frames);
  while (vtime(slate_frames_) <= elapsed + lead) {
    int64_t t = vtime(slate_frames_);
    while (sl.audio && atime(slate_audio_) <= t) {
      note(send(1, sl.silence, atime(slate_audio_), atime(slate_audio_ + 1) - atime(slate_audio_), true));
      ++slate_audio_;
    }
    size_t i = size_t(slate_frames_ % int64_t(sl.frames.size()));
    note(send(0, sl.frames[i], t, vtime(slate_frames_ + 1) - t, i % size_t(sl.gop_frames) == 0));
    ++slate_frames_;
  }
  return {};
}

void InputSwitch::learn_profile(const Input& in) {
  // The slate follows the primary; the backup's only until the primary is seen.
  if (&in == &in_[1] && !in_[0].pars.empty()) return;
  av::SlateSpec spec = profile_;
  spec.file = s_.slate == "auto" ? "" : s_.slate;
  for (auto& p : in.pars) {
    if (p->codec_type == AVMEDIA_TYPE_VIDEO) {
      int w = p->width, h = p->height;
      if (p->codec_id == AV_CODEC_ID_H264 && p->extradata) {
        std::string ps = p->extradata[0] == 1 ? avcc_to_annexb(p->extradata, size_t(p->extradata_size))
                                              : std::string(reinterpret_cast<char*>(p->extradata),
                                                            size_t(p->extradata_size));
        package::probe_dimensions(AV_CODEC_ID_H264, reinterpret_cast<const uint8_t*>(ps.data()), ps.size(), w, h);
      }
      if (w > 0 && h > 0) {
        spec.width = w;
        spec.height = h;
      }
    } else if (p->codec_type == AVMEDIA_TYPE_AUDIO) {
      spec.sample_rate = p->sample_rate;
      spec.channels = p->ch_layout.nb_channels > 0 ? p->ch_layout.nb_channels : 2;
    }
  }
  if (in.video >= 0 && in.gop_frames > 0 && in.gop_ms > 0) {
    double fps = double(in.gop_frames) * 1000.0 / double(in.gop_ms);
    double r = std::round(fps);
    spec.fps = std::fabs(fps - r) < 0.2 ? AVRational{int(r), 1} : AVRational{int(std::llround(fps * 1000)), 1000};
    spec.gop_frames = in.gop_frames;
  } else if (in.video >= 0) {
    return;  // the keyframe interval is not known yet
  }
  profile_ = spec;
  have_profile_ = true;
  prepare_slate();
}

void InputSwitch::prepare_slate() {
  if (!has_slate() || !have_profile_ || job_) return;
  std::string key = std::to_string(profile_.width) + "x" + std::to_string(profile_.height) + "@" +
                    std::to_string(profile_.fps.num) + "/" + std::to_string(profile_.fps.den) + " gop " +
                    std::to_string(profile_.gop_frames) + " audio " + std::to_string(profile_.sample_rate) + "/" +
                    std::to_string(profile_.channels);
  if (key == slate_for_) return;
  auto job = std::make_shared<Job>();
  job->key = key;
  av::SlateSpec spec = profile_;
  job->thread = std::thread([job, spec] {
    auto r = av::make_slate(spec);
    if (r.is_ok()) job->slate = std::make_shared<av::Slate>(std::move(*r));
    else job->status = r.status();
    job->done = true;
  });
  job_ = std::move(job);
}

void InputSwitch::collect_slate() {
  // A slate on the air is not swapped under the outputs it opened.
  if (!job_ || !job_->done || active_ == Source::kSlate) return;
  job_->thread.join();
  slate_for_ = job_->key;
  if (job_->status.is_ok()) {
    slate_ = job_->slate;
    spdlog::info("channel {}: slate ready ({})", channel_, slate_for_);
  } else {
    spdlog::error("channel {}: slate: {}", channel_, job_->status.message());
  }
  job_.reset();
  prepare_slate();  // the profile may have moved on meanwhile
}

void InputSwitch::tick(int64_t now) {
  collect_slate();
  if (pull_) pull_->drain(*backup_port_);
  Input& primary = in_[0];
  Input& backup = in_[1];
  if (active_ == Source::kNone) {
    if (live(backup, now) && now - backup.live_since_ms >= s_.failover_after_ms && !primary.open)
      note(activate(Source::kBackup, "no primary", now));
    return;
  }
  if (active_ == Source::kSlate) {
    if (live(backup, now)) {
      note(activate(Source::kBackup, "backup live", now));
      return;
    }
    failback_pending_ = live(primary, now) && now - primary.live_since_ms >= s_.failback_after_ms;
    note(emit_slate(now));
    return;
  }
  Input& act = in_[int(active_)];
  Input& other = active_ == Source::kPrimary ? backup : primary;
  int64_t last = std::max(act.last_media_ms, active_since_ms_);
  if (now - last >= s_.failover_after_ms) {
    std::string reason = act.open ? "silent" : "ended";
    if (live(other, now)) {
      note(activate(active_ == Source::kPrimary ? Source::kBackup : Source::kPrimary, reason, now));
    } else if (has_slate() && started_ && slate_) {
      note(activate(Source::kSlate, reason, now));
    } else if (has_slate() && started_ && !warned_no_slate_) {
      warned_no_slate_ = true;
      spdlog::warn("channel {}: {} input {}, no backup live and the slate is not ready yet", channel_, name(active_),
                   reason);
    }
    return;
  }
  if (active_ == Source::kBackup)
    failback_pending_ = live(primary, now) && now - primary.live_since_ms >= s_.failback_after_ms;
}

void InputSwitch::close() {
  if (out_open_) note(finish_outputs());
}

nlohmann::json InputSwitch::status(int64_t now) const {
  auto input = [&](const Input& in) {
    nlohmann::json j = {{"connected", in.open}, {"live", live(in, now)}};
    j["last_packet_age_ms"] = in.last_media_ms >= 0 ? nlohmann::json(now - in.last_media_ms) : nlohmann::json();
    return j;
  };
  nlohmann::json j = {{"active", name(active_)}, {"switches", switches_},  {"primary", input(in_[0])},
                      {"backup", input(in_[1])}, {"slate", s_.slate == "auto" || s_.slate == "off" ? s_.slate : "file"},
                      {"slate_ready", slate_ != nullptr}};
  if (switches_ > 0) {
    j["since"] = iso8601_utc(switched_unix_ms_);
    j["reason"] = last_reason_;
  }
  if (!backup_remote.empty()) j["backup"]["remote"] = backup_remote;
  return j;
}

// ---------------------------------------------------------------------------

BackupPull::BackupPull(std::string url, std::string channel) : url_(std::move(url)), channel_(std::move(channel)) {}

BackupPull::~BackupPull() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void BackupPull::start() { thread_ = std::thread([this] { run(); }); }

void BackupPull::run() {
  std::string last_error;
  while (!stop_ && !stop_requested()) {
    Status st = pump();
    {
      std::lock_guard lk(mu_);
      items_.push_back(Item{Item::kEnd, {}, -1, nullptr, kMs});
    }
    if (stop_ || stop_requested()) break;
    std::string msg = st.is_ok() ? "ended" : st.message();
    if (msg != last_error) spdlog::warn("channel {}: backup {}: {}; retrying", channel_, redact_url(url_), msg);
    last_error = msg;
    for (int i = 0; i < 20 && !stop_ && !stop_requested(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status BackupPull::pump() {
  av::InputOptions opts;
  SIGMA_ASSIGN_OR_RETURN(auto in, av::open_input(url_, opts));
  int v = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int a = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  std::vector<int> map(in->nb_streams, -1);
  Item open{Item::kOpen, {}, -1, nullptr, kMs};
  for (int s : {v, a}) {
    if (s < 0) continue;
    map[size_t(s)] = int(open.pars.size());
    open.pars.push_back(copy_par(in->streams[s]->codecpar));
  }
  if (open.pars.empty()) return data_error("no audio or video stream");
  {
    std::lock_guard lk(mu_);
    items_.push_back(std::move(open));
  }
  // A file or FIFO is read at its own pace, as a live source would send it.
  bool paced = url_.find("://") == std::string::npos || url_.rfind("file:", 0) == 0;
  auto t0 = std::chrono::steady_clock::now();
  int64_t first_ms = AV_NOPTS_VALUE;
  auto pkt = av::make_packet();
  while (!stop_ && !stop_requested()) {
    int r = av_read_frame(in.get(), pkt.get());
    if (r == AVERROR_EOF) return {};
    if (r < 0) return av::av_status(r, "read");
    int idx = pkt->stream_index < int(map.size()) ? map[size_t(pkt->stream_index)] : -1;
    if (idx < 0) {
      av_packet_unref(pkt.get());
      continue;
    }
    AVRational tb = in->streams[pkt->stream_index]->time_base;
    if (paced && pkt->dts != AV_NOPTS_VALUE) {
      int64_t ms = av_rescale_q(pkt->dts, tb, kMs);
      if (first_ms == AV_NOPTS_VALUE) first_ms = ms;
      auto due = t0 + std::chrono::milliseconds(ms - first_ms);
      while (!stop_ && std::chrono::steady_clock::now() < due)
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            due - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    Item item{Item::kPacket, {}, idx, av::make_packet(), tb};
    av_packet_move_ref(item.pkt.get(), pkt.get());
    std::lock_guard lk(mu_);
    if (queued_bytes_ + size_t(item.pkt->size) > kMaxPullQueue) continue;  // the loop is stalled: drop
    queued_bytes_ += size_t(item.pkt->size);
    items_.push_back(std::move(item));
  }
  return {};
}

void BackupPull::drain(MediaSink& port) {
  std::deque<Item> items;
  {
    std::lock_guard lk(mu_);
    items.swap(items_);
    queued_bytes_ = 0;
  }
  for (auto& it : items) {
    Status st;
    if (it.kind == Item::kOpen) st = port.open(raw(it.pars));
    else if (it.kind == Item::kPacket) st = port.write(it.index, it.pkt.get(), it.tb);
    else if (port.is_open()) st = port.finish();
    if (!st.is_ok()) spdlog::warn("channel {}: backup: {}", channel_, st.message());
  }
}

}  // namespace sigma::ingest
