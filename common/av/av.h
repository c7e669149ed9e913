#pragma once
// The one place that includes libav headers for ownership: unique_ptr types
// whose deleters call libav's own free functions. Writing a trailer is an
// explicit step that returns a Status (see OutputFile::finish in the tools),
// never a destructor side effect.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavfilter/avfilter.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "base/status.h"

namespace sigma::av {

struct InputDeleter { void operator()(AVFormatContext* c) const { avformat_close_input(&c); } };
// Output contexts: closes the pb (unless the caller set AVFMT_FLAG_CUSTOM_IO)
// and frees the context. Does not write a trailer.
struct OutputDeleter { void operator()(AVFormatContext* c) const; };
struct CodecDeleter { void operator()(AVCodecContext* c) const { avcodec_free_context(&c); } };
struct PacketDeleter { void operator()(AVPacket* p) const { av_packet_free(&p); } };
struct FrameDeleter { void operator()(AVFrame* f) const { av_frame_free(&f); } };
struct SwsDeleter { void operator()(SwsContext* s) const { sws_freeContext(s); } };
struct FilterGraphDeleter { void operator()(AVFilterGraph* g) const { avfilter_graph_free(&g); } };
struct BsfDeleter { void operator()(AVBSFContext* b) const { av_bsf_free(&b); } };
struct IOContextDeleter { void operator()(AVIOContext* io) const; };  // frees buffer too
struct DictDeleter { void operator()(AVDictionary* d) const { av_dict_free(&d); } };

using InputPtr = std::unique_ptr<AVFormatContext, InputDeleter>;
using OutputPtr = std::unique_ptr<AVFormatContext, OutputDeleter>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using FilterGraphPtr = std::unique_ptr<AVFilterGraph, FilterGraphDeleter>;
using BsfPtr = std::unique_ptr<AVBSFContext, BsfDeleter>;
using IOContextPtr = std::unique_ptr<AVIOContext, IOContextDeleter>;

PacketPtr make_packet();
FramePtr make_frame();

// "Invalid data found when processing input"
std::string error_string(int averr);
// Maps a libav error to a Status with context: EOF/INVALIDDATA -> kData,
// ENOENT/EIO/... -> kSystem, EINVAL -> kUsage.
Status av_status(int averr, const std::string& context);

// Routes libav's own log lines into spdlog (stderr), at a level matching
// ours, so media never mixes with logs.
void route_av_logs_to_spdlog();

// Opens an input (path, "-" for stdin, a FIFO, or any URL libavformat
// knows). interrupt lets a blocking read notice a stop request.
struct InputOptions {
  std::string format;          // force a demuxer ("mpegts"); empty: probe
  int64_t probesize = 0;       // 0: libav default
  int64_t analyzeduration = 0; // microseconds; 0: libav default
  bool stop_on_signal = true;  // interrupt blocking I/O on SIGTERM/SIGINT
};
Result<InputPtr> open_input(const std::string& url, const InputOptions& opts = {});

}  // namespace sigma::av
