#include "rtmp/handshake.h"

#include <random>

namespace sigma::rtmp {

Status ServerHandshake::feed(std::string_view in, size_t& consumed, std::string& out) {
  consumed = 0;
  if (state_ == State::kWaitC0C1) {
    if (in.size() < 1) return {};
    uint8_t version = uint8_t(in[0]);
    // 3 is plain RTMP; 6 and 8 are RTMPE (encrypted), which we don't speak.
    if (version != 3)
      return data_error("RTMP handshake: unsupported version " + std::to_string(version));
    if (in.size() < 1 + kHandshakeSize) return {};
    std::string_view c1 = in.substr(1, kHandshakeSize);
    out.push_back(3);
    // S1: time, four zero bytes (no digest), random filler.
    std::string s1(kHandshakeSize, '\0');
    std::minstd_rand rng(std::random_device{}());
    for (size_t i = 8; i < kHandshakeSize; ++i) s1[i] = char(rng());
    out += s1;
    out.append(c1);  // S2 echoes C1
    consumed = 1 + kHandshakeSize;
    state_ = State::kWaitC2;
    in.remove_prefix(consumed);
  }
  if (state_ == State::kWaitC2) {
    if (in.size() < kHandshakeSize) return {};
    consumed += kHandshakeSize;
    state_ = State::kDone;
  }
  return {};
}

}  // namespace sigma::rtmp
