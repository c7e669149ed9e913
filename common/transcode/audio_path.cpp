#include "transcode/audio_path.h"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>
}

#include <cstdlib>
#include <cstring>

#include "av/codec_loop.h"
#include "base/log.h"

namespace sigma::transcode {

namespace {
constexpr int kRate = 48000;
constexpr AVRational kTb90k{1, 90000};
constexpr AVRational kTbRate{1, kRate};
// The encoder's raw AAC frames get an ADTS header, as MPEG-TS wants them:
// the muxer could add one only if the stream had been declared with
// extradata, which a stream first fed by passthrough does not have.
Status add_adts_header(AVPacket* pkt, AVPacket* out) {
  constexpr int kSampleRateIndex48k = 3, kChannels = 2, kAacLc = 1;  // object type - 1
  int len = pkt->size + 7;
  int r = av_new_packet(out, len);
  if (r < 0) return av::av_status(r, "ADTS packet");
  av_packet_copy_props(out, pkt);
  uint8_t* h = out->data;
  h[0] = 0xFF;
  h[1] = 0xF1;  // MPEG-4, no CRC
  h[2] = static_cast<uint8_t>((kAacLc << 6) | (kSampleRateIndex48k << 2) | (kChannels >> 2));
  h[3] = static_cast<uint8_t>(((kChannels & 3) << 6) | (len >> 11));
  h[4] = static_cast<uint8_t>((len >> 3) & 0xFF);
  h[5] = static_cast<uint8_t>(((len & 7) << 5) | 0x1F);
  h[6] = 0xFC;
  memcpy(h + 7, pkt->data, pkt->size);
  return {};
}

}  // namespace

AudioPath::~AudioPath() {
  swr_free(&swr_);
  if (fifo_) av_audio_fifo_free(fifo_);
}

Status AudioPath::open_encoder() {
  if (enc_) return {};
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  if (!codec) return internal_error("this FFmpeg build has no AAC encoder");
  enc_.reset(avcodec_alloc_context3(codec));
  if (!enc_) return internal_error("out of memory");
  enc_->sample_rate = kRate;
  enc_->sample_fmt = AV_SAMPLE_FMT_FLTP;
  av_channel_layout_default(&enc_->ch_layout, 2);
  enc_->bit_rate = bitrate_;
  enc_->time_base = kTbRate;
  int r = avcodec_open2(enc_.get(), codec, nullptr);
  if (r < 0) return av::av_status(r, "open the AAC encoder");
  fifo_ = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, 4 * enc_->frame_size);
  if (!fifo_) return internal_error("out of memory");
  return {};
}

Status AudioPath::add_output(const AVStream* in) {
  if (in->codecpar->codec_id == AV_CODEC_ID_AAC) {
    SIGMA_ASSIGN_OR_RETURN(stream_, mux_.add_stream(in->codecpar));
  } else {
    SIGMA_RETURN_IF_ERROR(open_encoder());
    SIGMA_ASSIGN_OR_RETURN(stream_, mux_.add_stream(enc_.get()));
  }
  return {};
}

Status AudioPath::begin_input(const AVStream* in) {
  dec_.reset();
  codec_ = in->codecpar->codec_id;
  passthrough_ = codec_ == AV_CODEC_ID_AAC;
  if (passthrough_) {
    spdlog::info("audio: AAC {} Hz, passed through", in->codecpar->sample_rate);
    return {};
  }
  const AVCodec* codec = avcodec_find_decoder(in->codecpar->codec_id);
  if (!codec) return data_error(std::string("no decoder for audio codec ") + avcodec_get_name(in->codecpar->codec_id));
  dec_.reset(avcodec_alloc_context3(codec));
  if (!dec_) return internal_error("out of memory");
  int r = avcodec_parameters_to_context(dec_.get(), in->codecpar);
  if (r < 0) return av::av_status(r, "audio decoder parameters");
  dec_->pkt_timebase = kTb90k;
  r = avcodec_open2(dec_.get(), codec, nullptr);
  if (r < 0) return av::av_status(r, std::string("open audio decoder ") + codec->name);
  SIGMA_RETURN_IF_ERROR(open_encoder());
  spdlog::info("audio: {} {} Hz, encoded to AAC 48 kHz", codec->name, in->codecpar->sample_rate);
  return {};
}

Status AudioPath::packet(AVPacket* pkt, const AVStream* in) {
  if (stream_ < 0) return {};
  if (in->codecpar->codec_id != codec_) {
    spdlog::warn("audio: input codec changed to {}", avcodec_get_name(in->codecpar->codec_id));
    SIGMA_RETURN_IF_ERROR(end_input());
    SIGMA_RETURN_IF_ERROR(begin_input(in));
  }
  if (passthrough_) {
    // MPEG-TS carries AAC as ADTS. Anything else under the AAC label (a
    // PMT that changed codec on the same PID) would corrupt the output.
    bool adts = pkt->size >= 7 && pkt->data[0] == 0xFF && (pkt->data[1] & 0xF6) == 0xF0;
    if (!adts) {
      if (bad_packets_++ % 200 == 0)
        spdlog::warn("audio: dropping packets that are not ADTS AAC ({} so far)", bad_packets_);
      return {};
    }
    return mux_.write(stream_, pkt, kTb90k);
  }
  if (!dec_) return {};
  Status st = av::decode(dec_.get(), pkt, dec_frame_.get(), [&](AVFrame* f) { return on_decoded(f); });
  if (st.code() == ExitCode::kData) {
    // One damaged audio packet must not stop a live channel.
    spdlog::warn("audio: {}", st.message());
    return {};
  }
  return st;
}

Status AudioPath::on_decoded(AVFrame* f) {
  int channels = f->ch_layout.nb_channels;
  if (!swr_ || f->sample_rate != swr_rate_ || f->format != swr_fmt_ || channels != swr_channels_) {
    swr_free(&swr_);
    AVChannelLayout out_layout;
    av_channel_layout_default(&out_layout, 2);
    AVChannelLayout in_layout;
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) av_channel_layout_default(&in_layout, channels);
    else av_channel_layout_copy(&in_layout, &f->ch_layout);
    int r = swr_alloc_set_opts2(&swr_, &out_layout, AV_SAMPLE_FMT_FLTP, kRate, &in_layout,
                                static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr);
    av_channel_layout_uninit(&in_layout);
    if (r < 0 || swr_init(swr_) < 0) return data_error("cannot resample audio from " + std::to_string(f->sample_rate) + " Hz");
    swr_rate_ = f->sample_rate;
    swr_fmt_ = f->format;
    swr_channels_ = channels;
  }
  // Timestamps follow the sample count, re-anchored when the input's
  // clock drifts more than 100 ms from it (a jump, lost packets).
  int64_t in_pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
  if (in_pts != AV_NOPTS_VALUE) {
    int64_t expected_in_out = av_rescale_q(in_pts, kTb90k, kTbRate);
    int64_t queued = av_audio_fifo_size(fifo_);
    if (next_pts_ == AV_NOPTS_VALUE || std::llabs(next_pts_ + queued - expected_in_out) > kRate / 10) {
      if (next_pts_ != AV_NOPTS_VALUE) spdlog::debug("audio: clock re-anchored");
      av_audio_fifo_reset(fifo_);
      next_pts_ = std::max(expected_in_out, next_pts_ == AV_NOPTS_VALUE ? INT64_MIN : next_pts_);
    }
  }
  if (next_pts_ == AV_NOPTS_VALUE) next_pts_ = 0;
  int max_out = swr_get_out_samples(swr_, f->nb_samples);
  uint8_t* planes[2] = {nullptr, nullptr};
  if (av_samples_alloc(planes, nullptr, 2, max_out, AV_SAMPLE_FMT_FLTP, 0) < 0) return internal_error("out of memory");
  int n = swr_convert(swr_, planes, max_out, const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
  if (n > 0) av_audio_fifo_write(fifo_, reinterpret_cast<void**>(planes), n);
  av_freep(&planes[0]);
  if (n < 0) return data_error("resample audio failed");
  return drain_fifo(false);
}

Status AudioPath::drain_fifo(bool final) {
  const int fs = enc_->frame_size;
  while (av_audio_fifo_size(fifo_) >= fs || (final && av_audio_fifo_size(fifo_) > 0)) {
    int n = std::min(fs, av_audio_fifo_size(fifo_));
    av_frame_unref(enc_frame_.get());
    enc_frame_->nb_samples = n;
    enc_frame_->format = AV_SAMPLE_FMT_FLTP;
    enc_frame_->sample_rate = kRate;
    av_channel_layout_default(&enc_frame_->ch_layout, 2);
    if (av_frame_get_buffer(enc_frame_.get(), 0) < 0) return internal_error("out of memory");
    av_audio_fifo_read(fifo_, reinterpret_cast<void**>(enc_frame_->data), n);
    enc_frame_->pts = next_pts_;
    next_pts_ += n;
    SIGMA_RETURN_IF_ERROR(av::encode(enc_.get(), enc_frame_.get(), pkt_.get(),
                                     [&](AVPacket* p) { return write_encoded(p); }));
  }
  return {};
}

Status AudioPath::write_encoded(AVPacket* p) {
  SIGMA_RETURN_IF_ERROR(add_adts_header(p, adts_.get()));
  return mux_.write(stream_, adts_.get(), enc_->time_base);
}

Status AudioPath::end_input() {
  if (!dec_) return {};
  Status st = av::decode(dec_.get(), nullptr, dec_frame_.get(), [&](AVFrame* f) { return on_decoded(f); });
  dec_.reset();
  return st.code() == ExitCode::kData ? Status() : st;
}

Status AudioPath::finish() {
  SIGMA_RETURN_IF_ERROR(end_input());
  if (!enc_ || stream_ < 0) return {};
  SIGMA_RETURN_IF_ERROR(drain_fifo(true));
  return av::encode(enc_.get(), nullptr, pkt_.get(), [&](AVPacket* p) { return write_encoded(p); });
}

}  // namespace sigma::transcode
