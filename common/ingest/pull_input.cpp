#include "ingest/pull_input.h"

#include "av/av.h"
#include "base/log.h"
#include "base/signals.h"
#include "ingest/ts_sink.h"

namespace sigma::ingest {

namespace {
constexpr size_t kCredit = 1 << 20;  // bytes in flight to the event loop
}

PullInput::PullInput(std::string url, std::string channel, uint64_t source, Inbox& inbox)
    : url_(std::move(url)), channel_(std::move(channel)), source_(source), inbox_(inbox) {}

PullInput::~PullInput() { stop(); }

void PullInput::start() { thread_ = std::thread([this] { run(); }); }

void PullInput::stop() {
  stop_ = true;
  inbox_.wake_all();
  if (thread_.joinable()) thread_.join();
}

void PullInput::run() {
  Status st = pump();
  InboxItem end;
  end.kind = InboxItem::Kind::kEnd;
  end.source = source_;
  end.reason = st.is_ok() ? "eof" : (stop_ || stop_requested() ? "shutdown" : "error");
  end.status = st;
  inbox_.post(std::move(end));
}

Status PullInput::pump() {
  av::InputOptions opts;
  SIGMA_ASSIGN_OR_RETURN(auto in, av::open_input(url_, opts));
  int v = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  int a = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  std::vector<int> map(in->nb_streams, -1);
  std::vector<const AVCodecParameters*> pars;
  nlohmann::json info = {{"protocol", "pull"}, {"remote", redact_url(url_)}};
  if (v >= 0) {
    map[v] = int(pars.size());
    const AVStream* st = in->streams[v];
    pars.push_back(st->codecpar);
    info["video"] = avcodec_get_name(st->codecpar->codec_id);
    info["width"] = st->codecpar->width;
    info["height"] = st->codecpar->height;
    if (st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0) info["fps"] = av_q2d(st->avg_frame_rate);
  }
  if (a >= 0) {
    map[a] = int(pars.size());
    pars.push_back(in->streams[a]->codecpar);
    info["audio"] = avcodec_get_name(in->streams[a]->codecpar->codec_id);
    info["sample_rate"] = in->streams[a]->codecpar->sample_rate;
  }
  if (pars.empty()) return data_error("input " + redact_url(url_) + " has no audio or video stream");
  if (in->bit_rate > 0) info["bitrate_kbps"] = in->bit_rate / 1000;

  std::string batch;
  uint64_t frames = 0;
  TsSink mux([&](const uint8_t* d, size_t n) { batch.append(reinterpret_cast<const char*>(d), n); });
  SIGMA_RETURN_IF_ERROR(mux.open(pars));
  InboxItem start;
  start.kind = InboxItem::Kind::kStart;
  start.source = source_;
  start.channel = channel_;
  start.info = info;
  inbox_.post(std::move(start));

  auto cancelled = [this] { return stop_.load() || stop_requested(); };
  auto send = [&] {
    if (batch.empty()) return;
    inbox_.wait_for_credit(source_, kCredit, cancelled);
    InboxItem item;
    item.kind = InboxItem::Kind::kData;
    item.source = source_;
    item.data.swap(batch);
    item.video_frames = frames;
    frames = 0;
    inbox_.post(std::move(item));
  };
  auto pkt = av::make_packet();
  for (;;) {
    if (cancelled()) break;
    int r = av_read_frame(in.get(), pkt.get());
    if (r == AVERROR_EOF) break;
    if (r < 0) {
      if (cancelled()) break;
      send();
      return av::av_status(r, "read " + redact_url(url_));
    }
    int idx = pkt->stream_index < int(map.size()) ? map[pkt->stream_index] : -1;
    if (idx < 0) {
      av_packet_unref(pkt.get());
      continue;
    }
    if (pkt->stream_index == v) ++frames;
    AVRational tb = in->streams[pkt->stream_index]->time_base;
    SIGMA_RETURN_IF_ERROR(mux.write(idx, pkt.get(), tb));
    if (batch.size() >= 64 * 188) send();
  }
  Status st = mux.finish();
  send();
  return st;
}

}  // namespace sigma::ingest
