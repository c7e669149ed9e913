#include "av/frame_pool.h"

extern "C" {
#include <libavutil/imgutils.h>
}

namespace sigma::av {

namespace {
// Line and plane alignment the SIMD code of swscale and x264 likes best
// (av_frame_get_buffer's own choice on AVX-512 machines).
constexpr int kAlign = 64;
}  // namespace

Result<FramePtr> FramePool::get(int width, int height, AVPixelFormat fmt) {
  if (!pool_ || width != width_ || height != height_ || fmt != fmt_) {
    int size = av_image_get_buffer_size(fmt, width, height, kAlign);
    if (size < 0) return av_status(size, "frame buffer size");
    // Padding: SIMD loops may read a little past the last line.
    size_ = size + AV_INPUT_BUFFER_PADDING_SIZE;
    pool_.reset(av_buffer_pool_init(size_, av_buffer_alloc));
    if (!pool_) return internal_error("out of memory creating a frame pool");
    width_ = width;
    height_ = height;
    fmt_ = fmt;
  }
  FramePtr f = make_frame();
  if (!f) return internal_error("out of memory");
  f->buf[0] = av_buffer_pool_get(pool_.get());
  if (!f->buf[0]) return internal_error("out of memory taking a frame from the pool");
  int r = av_image_fill_arrays(f->data, f->linesize, f->buf[0]->data, fmt, width, height, kAlign);
  if (r < 0) return av_status(r, "frame layout");
  f->width = width;
  f->height = height;
  f->format = fmt;
  return f;
}

}  // namespace sigma::av
