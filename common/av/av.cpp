#include "av/av.h"

#include <cerrno>
#include <cstdio>

#include "base/log.h"
#include "base/signals.h"

namespace sigma::av {

void OutputDeleter::operator()(AVFormatContext* c) const {
  if (!c) return;
  if (c->pb && !(c->flags & AVFMT_FLAG_CUSTOM_IO) && !(c->oformat->flags & AVFMT_NOFILE))
    avio_closep(&c->pb);
  avformat_free_context(c);
}

void IOContextDeleter::operator()(AVIOContext* io) const {
  if (!io) return;
  av_freep(&io->buffer);
  avio_context_free(&io);
}

PacketPtr make_packet() { return PacketPtr(av_packet_alloc()); }
FramePtr make_frame() { return FramePtr(av_frame_alloc()); }

std::string error_string(int averr) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averr, buf, sizeof buf);
  return buf;
}

Status av_status(int averr, const std::string& context) {
  if (averr >= 0) return {};
  ExitCode code = ExitCode::kSystem;
  if (averr == AVERROR_INVALIDDATA || averr == AVERROR_EOF || averr == AVERROR_DECODER_NOT_FOUND ||
      averr == AVERROR_DEMUXER_NOT_FOUND || averr == AVERROR_PATCHWELCOME ||
      averr == AVERROR_STREAM_NOT_FOUND)
    code = ExitCode::kData;
  else if (averr == AVERROR(EINVAL) || averr == AVERROR_PROTOCOL_NOT_FOUND ||
           averr == AVERROR_MUXER_NOT_FOUND || averr == AVERROR_OPTION_NOT_FOUND)
    code = ExitCode::kUsage;
  return Status(code, context + ": " + error_string(averr));
}

namespace {
void av_log_to_spdlog(void* avcl, int level, const char* fmt, va_list vl) {
  if (level > av_log_get_level()) return;
  char line[1024];
  static int print_prefix = 1;
  av_log_format_line(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
  std::string s(line);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return;
  if (level <= AV_LOG_ERROR) spdlog::error("libav: {}", s);
  else if (level <= AV_LOG_WARNING) spdlog::warn("libav: {}", s);
  else if (level <= AV_LOG_INFO) spdlog::info("libav: {}", s);
  else spdlog::debug("libav: {}", s);
}

int interrupt_cb(void* opaque) {
  return opaque && stop_requested() ? 1 : 0;
}
}  // namespace

void route_av_logs_to_spdlog() {
  auto lvl = spdlog::default_logger()->level();
  av_log_set_level(lvl <= spdlog::level::debug ? AV_LOG_VERBOSE
                   : lvl <= spdlog::level::info ? AV_LOG_WARNING
                                                : AV_LOG_ERROR);
  av_log_set_callback(av_log_to_spdlog);
}

Result<InputPtr> open_input(const std::string& url, const InputOptions& opts) {
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) return internal_error("out of memory");
  static int enabled = 1;
  raw->interrupt_callback.callback = interrupt_cb;
  raw->interrupt_callback.opaque = opts.stop_on_signal ? &enabled : nullptr;
  const AVInputFormat* fmt = nullptr;
  if (!opts.format.empty()) {
    fmt = av_find_input_format(opts.format.c_str());
    if (!fmt) {
      avformat_free_context(raw);
      return usage_error("unknown input format '" + opts.format + "'");
    }
  }
  AVDictionary* d = nullptr;
  if (opts.probesize > 0) av_dict_set_int(&d, "probesize", opts.probesize, 0);
  if (opts.analyzeduration > 0) av_dict_set_int(&d, "analyzeduration", opts.analyzeduration, 0);
  std::string target = url == "-" ? "pipe:0" : url;
  int r = avformat_open_input(&raw, target.c_str(), fmt, &d);  // frees raw on failure
  av_dict_free(&d);
  if (r < 0) return av_status(r, "open input " + redact_url(url));
  InputPtr in(raw);
  r = avformat_find_stream_info(in.get(), nullptr);
  if (r < 0) return av_status(r, "read stream info of " + redact_url(url));
  return in;
}

}  // namespace sigma::av
