#pragma once
// The one send/receive loop for every decoder and encoder in Sigma
// (FFmpeg doc/examples/transcode.c): send, then receive until EAGAIN;
// a null packet/frame flushes and the loop runs to EOF.
#include <functional>

#include "av/av.h"

namespace sigma::av {

using FrameSink = std::function<Status(AVFrame*)>;
using PacketSink = std::function<Status(AVPacket*)>;

// Decodes pkt (nullptr: flush). scratch is reused for every frame and
// unreferenced after the sink returns.
Status decode(AVCodecContext* dec, const AVPacket* pkt, AVFrame* scratch, const FrameSink& sink);
// Encodes frame (nullptr: flush). scratch is unreferenced after the sink.
Status encode(AVCodecContext* enc, const AVFrame* frame, AVPacket* scratch, const PacketSink& sink);

}  // namespace sigma::av
