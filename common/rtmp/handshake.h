#pragma once
// The server side of the RTMP handshake (spec section 5.2): C0+C1 in,
// S0+S1+S2 out, C2 in. We answer with the simple (version 0) handshake:
// publishers (ffmpeg, librtmp/OBS, GStreamer rtmp2) only verify the
// digest variant when the server advertises a version in S1, which we don't.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma::rtmp {

inline constexpr size_t kHandshakeSize = 1536;

class ServerHandshake {
 public:
  // Consumes handshake bytes from the front of in (sets consumed), appends
  // the reply to out. done() turns true once C2 has been read; bytes after
  // it belong to the chunk stream.
  Status feed(std::string_view in, size_t& consumed, std::string& out);
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kWaitC0C1, kWaitC2, kDone };
  State state_ = State::kWaitC0C1;
};

}  // namespace sigma::rtmp
