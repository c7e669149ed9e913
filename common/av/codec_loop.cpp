#include "av/codec_loop.h"

namespace sigma::av {

namespace {
template <class Send, class Receive, class Item, class Sink>
Status run_loop(Send send, Receive receive, Item* scratch, const Sink& sink, const char* what) {
  int r = send();
  // A full codec (EAGAIN) is drained below, then the input is sent again.
  bool resend = r == AVERROR(EAGAIN);
  if (r < 0 && !resend && r != AVERROR_EOF) return av_status(r, std::string(what) + " send");
  for (;;) {
    r = receive(scratch);
    if (r == AVERROR(EAGAIN)) {
      if (!resend) return {};
      resend = false;
      r = send();
      if (r < 0 && r != AVERROR_EOF) return av_status(r, std::string(what) + " send");
      continue;
    }
    if (r == AVERROR_EOF) return {};
    if (r < 0) return av_status(r, std::string(what) + " receive");
    Status st = sink(scratch);
    if constexpr (std::is_same_v<Item, AVFrame>) av_frame_unref(scratch);
    else av_packet_unref(scratch);
    SIGMA_RETURN_IF_ERROR(st);
  }
}
}  // namespace

Status decode(AVCodecContext* dec, const AVPacket* pkt, AVFrame* scratch, const FrameSink& sink) {
  return run_loop([&] { return avcodec_send_packet(dec, pkt); },
                  [&](AVFrame* f) { return avcodec_receive_frame(dec, f); }, scratch, sink, "decode");
}

Status encode(AVCodecContext* enc, const AVFrame* frame, AVPacket* scratch, const PacketSink& sink) {
  return run_loop([&] { return avcodec_send_frame(enc, frame); },
                  [&](AVPacket* p) { return avcodec_receive_packet(enc, p); }, scratch, sink, "encode");
}

}  // namespace sigma::av
