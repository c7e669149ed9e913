#pragma once
// Scaled frames come from a pool of reused buffers instead of a fresh
// allocation each: a 720p frame is 1.4 MB, and allocating one per frame per
// rung made glibc hand pages back and fault them in again (60 s of 1080p
// through 3 rungs: 57k page faults before, 33k with the pool; CPU time the
// same within the noise of a shared machine).
#include <memory>

#include "av/av.h"

namespace sigma::av {

class FramePool {
 public:
  // A frame of this size and format backed by a pooled buffer; the buffer
  // returns to the pool when the last reference to it goes. A new size
  // starts a new pool (frames still in flight keep the old one alive).
  Result<FramePtr> get(int width, int height, AVPixelFormat fmt);

 private:
  struct PoolDeleter {
    void operator()(AVBufferPool* p) const { av_buffer_pool_uninit(&p); }
  };
  std::unique_ptr<AVBufferPool, PoolDeleter> pool_;
  int width_ = 0, height_ = 0, size_ = 0;
  AVPixelFormat fmt_ = AV_PIX_FMT_NONE;
};

}  // namespace sigma::av
