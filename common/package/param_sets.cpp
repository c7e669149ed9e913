#include "package/param_sets.h"

namespace sigma::package {

std::string extract_param_sets(AVCodecID codec, const uint8_t* data, size_t size) {
  std::string out;
  bool hevc = codec == AV_CODEC_ID_HEVC;
  if (codec != AV_CODEC_ID_H264 && !hevc) return out;
  size_t i = 0;
  auto next_start = [&](size_t from) -> size_t {
    for (size_t k = from; k + 3 <= size; ++k)
      if (data[k] == 0 && data[k + 1] == 0 && data[k + 2] == 1) return k;
    return size;
  };
  i = next_start(0);
  while (i < size) {
    size_t nal = i + 3;
    size_t end = next_start(nal);
    if (nal >= size) break;
    int type = hevc ? (data[nal] >> 1) & 0x3f : data[nal] & 0x1f;
    bool vcl = hevc ? type < 32 : (type >= 1 && type <= 5);
    if (vcl) break;  // parameter sets come before the first slice
    bool ps = hevc ? (type >= 32 && type <= 34) : (type == 7 || type == 8);
    size_t nal_end = end;
    while (nal_end > nal && data[nal_end - 1] == 0) --nal_end;  // trailing zero / 4-byte start code
    if (ps) {
      out.append("\0\0\0\1", 4);
      out.append(reinterpret_cast<const char*>(data + nal), nal_end - nal);
    }
    i = end;
  }
  return out;
}

bool probe_dimensions(AVCodecID codec, const uint8_t* data, size_t size, int& width, int& height) {
  AVCodecParserContext* parser = av_parser_init(codec);
  if (!parser) return false;
  av::CodecPtr ctx(avcodec_alloc_context3(nullptr));
  bool ok = false;
  if (ctx) {
    ctx->codec_id = codec;
    // Parameter sets without a picture make the parser complain at error
    // level: nothing a user can act on.
    ctx->log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR;
    uint8_t* out = nullptr;
    int out_size = 0;
    av_parser_parse2(parser, ctx.get(), &out, &out_size, data, static_cast<int>(size), AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    // The parser holds the last frame back until it sees the next one.
    av_parser_parse2(parser, ctx.get(), &out, &out_size, nullptr, 0, AV_NOPTS_VALUE, AV_NOPTS_VALUE, 0);
    int w = parser->width > 0 ? parser->width : ctx->width;
    int h = parser->height > 0 ? parser->height : ctx->height;
    if (w > 0 && h > 0) {
      width = w;
      height = h;
      ok = true;
    }
  }
  av_parser_close(parser);
  return ok;
}

}  // namespace sigma::package
