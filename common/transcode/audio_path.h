#pragma once
// The audio of the output: AAC passes through untouched (ADTS in the TS,
// timestamps remapped); anything else is decoded, resampled to 48 kHz
// stereo with libswresample and encoded with FFmpeg's native AAC encoder.
#include <cstdint>
#include <memory>

#include "av/av.h"
#include "av/ts_muxer.h"

struct SwrContext;
struct AVAudioFifo;

namespace sigma::transcode {

class AudioPath {
 public:
  AudioPath(av::TsMuxer& mux, int64_t bitrate) : mux_(mux), bitrate_(bitrate) {}
  ~AudioPath();
  AudioPath(const AudioPath&) = delete;
  AudioPath& operator=(const AudioPath&) = delete;

  // Adds the output stream, shaped by the first input's audio.
  Status add_output(const AVStream* in);
  // A new input (or a codec change): decide passthrough or encode again.
  Status begin_input(const AVStream* in);
  // pkt timestamps are already on the output timeline, in 90 kHz. A codec
  // change on the same stream (a new PMT) switches the path.
  Status packet(AVPacket* pkt, const AVStream* in);
  // End of one input: drain the decoder (the encoder keeps going).
  Status end_input();
  // End of the output: drain everything.
  Status finish();

 private:
  Status open_encoder();
  Status on_decoded(AVFrame* f);
  Status drain_fifo(bool final);
  Status write_encoded(AVPacket* p);

  av::TsMuxer& mux_;
  int64_t bitrate_;
  int stream_ = -1;
  bool passthrough_ = false;
  AVCodecID codec_ = AV_CODEC_ID_NONE;
  int64_t bad_packets_ = 0;
  av::CodecPtr dec_, enc_;
  SwrContext* swr_ = nullptr;
  AVAudioFifo* fifo_ = nullptr;
  int swr_rate_ = 0, swr_fmt_ = -1, swr_channels_ = 0;
  int64_t next_pts_ = AV_NOPTS_VALUE;  // in 1/48000
  av::FramePtr dec_frame_ = av::make_frame(), enc_frame_ = av::make_frame();
  av::PacketPtr pkt_ = av::make_packet(), adts_ = av::make_packet();
};

}  // namespace sigma::transcode
