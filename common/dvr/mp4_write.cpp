#include "dvr/mp4_write.h"

#include <climits>

namespace sigma::dvr::mp4 {

namespace {

class Writer {
 public:
  std::string out;
  void u8(uint8_t v) { out.push_back(static_cast<char>(v)); }
  void u16(uint16_t v) { u8(v >> 8), u8(v & 0xff); }
  void u32(uint32_t v) { u16(v >> 16), u16(v & 0xffff); }
  void u64(uint64_t v) { u32(static_cast<uint32_t>(v >> 32)), u32(static_cast<uint32_t>(v)); }
  void bytes(std::string_view b) { out.append(b); }
  void zeros(size_t n) { out.append(n, '\0'); }
  size_t begin(const char* type) {
    size_t at = out.size();
    u32(0);
    out.append(type, 4);
    return at;
  }
  size_t full(const char* type, uint8_t version, uint32_t flags) {
    size_t at = begin(type);
    u32(uint32_t{version} << 24 | flags);
    return at;
  }
  void end(size_t at) {
    uint32_t size = static_cast<uint32_t>(out.size() - at);
    for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(size >> (24 - 8 * i));
  }
};

const uint32_t kMatrix[9] = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

bool fits32(int64_t v) { return v >= 0 && v <= UINT32_MAX; }

const uint8_t* u(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// tkhd of the init with our track_ID and duration; version 1 only when
// the duration needs it.
void write_tkhd(Writer& w, std::string_view trak, const Box& b, uint32_t id, int64_t duration) {
  const uint8_t* d = u(trak);
  uint8_t v = d[b.payload];
  size_t rest = b.payload + (v == 1 ? 36 : 24);  // after duration
  bool v1 = !fits32(duration);
  size_t at = w.full("tkhd", v1 ? 1 : 0, 0x3);  // enabled, in movie
  if (v1) {
    w.u64(0), w.u64(0), w.u32(id), w.u32(0), w.u64(static_cast<uint64_t>(duration));
  } else {
    w.u32(0), w.u32(0), w.u32(id), w.u32(0), w.u32(static_cast<uint32_t>(duration));
  }
  if (rest <= b.end) w.bytes(trak.substr(rest, b.end - rest));
  w.end(at);
}

void write_mdhd(Writer& w, std::string_view trak, const Box& b, uint32_t timescale, int64_t duration) {
  const uint8_t* d = u(trak);
  uint8_t v = d[b.payload];
  size_t lang_at = b.payload + (v == 1 ? 32 : 20);
  uint16_t lang = lang_at + 2 <= b.end ? static_cast<uint16_t>(d[lang_at] << 8 | d[lang_at + 1]) : 0x55c4;  // und
  bool v1 = !fits32(duration);
  size_t at = w.full("mdhd", v1 ? 1 : 0, 0);
  if (v1) w.u64(0), w.u64(0), w.u32(timescale), w.u64(static_cast<uint64_t>(duration));
  else w.u32(0), w.u32(0), w.u32(timescale), w.u32(static_cast<uint32_t>(duration));
  w.u16(lang), w.u16(0);
  w.end(at);
}

void write_elst(Writer& w, const OutTrack& t) {
  int64_t media_movie = t.movie_duration() - t.empty_movie;
  bool v1 = !fits32(t.movie_duration()) || t.media_time > INT32_MAX;
  size_t edts = w.begin("edts");
  size_t at = w.full("elst", v1 ? 1 : 0, 0);
  w.u32(t.empty_movie > 0 ? 2 : 1);
  auto entry = [&](int64_t dur, int64_t media_time) {
    if (v1) w.u64(static_cast<uint64_t>(dur)), w.u64(static_cast<uint64_t>(media_time));
    else w.u32(static_cast<uint32_t>(dur)), w.u32(static_cast<uint32_t>(static_cast<int32_t>(media_time)));
    w.u32(0x00010000);  // rate 1.0
  };
  if (t.empty_movie > 0) entry(t.empty_movie, -1);
  entry(media_movie, t.media_time);
  w.end(at);
  w.end(edts);
}

void write_stbl(Writer& w, const OutTrack& t, bool co64) {
  size_t stbl = w.begin("stbl");
  w.bytes(t.init->stsd);
  size_t at = w.full("stts", 0, 0);
  size_t count_at = w.out.size();
  w.u32(0);
  uint32_t entries = 0;
  for (size_t i = 0; i < t.durations.size();) {
    size_t j = i;
    while (j < t.durations.size() && t.durations[j] == t.durations[i]) ++j;
    w.u32(static_cast<uint32_t>(j - i)), w.u32(t.durations[i]);
    ++entries;
    i = j;
  }
  for (int k = 0; k < 4; ++k) w.out[count_at + k] = static_cast<char>(entries >> (24 - 8 * k));
  w.end(at);

  bool any_cto = false, negative = false;
  for (int32_t c : t.ctos) any_cto |= c != 0, negative |= c < 0;
  if (any_cto) {
    at = w.full("ctts", negative ? 1 : 0, 0);
    count_at = w.out.size();
    w.u32(0);
    entries = 0;
    for (size_t i = 0; i < t.ctos.size();) {
      size_t j = i;
      while (j < t.ctos.size() && t.ctos[j] == t.ctos[i]) ++j;
      w.u32(static_cast<uint32_t>(j - i)), w.u32(static_cast<uint32_t>(t.ctos[i]));
      ++entries;
      i = j;
    }
    for (int k = 0; k < 4; ++k) w.out[count_at + k] = static_cast<char>(entries >> (24 - 8 * k));
    w.end(at);
  }
  if (!t.all_sync) {
    at = w.full("stss", 0, 0);
    w.u32(static_cast<uint32_t>(t.syncs.size()));
    for (uint32_t s : t.syncs) w.u32(s);
    w.end(at);
  }
  at = w.full("stsz", 0, 0);
  w.u32(0), w.u32(static_cast<uint32_t>(t.sizes.size()));
  for (uint32_t s : t.sizes) w.u32(s);
  w.end(at);

  at = w.full("stsc", 0, 0);
  count_at = w.out.size();
  w.u32(0);
  entries = 0;
  for (size_t c = 0; c < t.chunk_samples.size(); ++c) {
    if (c > 0 && t.chunk_samples[c] == t.chunk_samples[c - 1]) continue;
    w.u32(static_cast<uint32_t>(c + 1)), w.u32(t.chunk_samples[c]), w.u32(1);
    ++entries;
  }
  for (int k = 0; k < 4; ++k) w.out[count_at + k] = static_cast<char>(entries >> (24 - 8 * k));
  w.end(at);

  at = w.full(co64 ? "co64" : "stco", 0, 0);
  w.u32(static_cast<uint32_t>(t.chunk_offsets.size()));
  for (uint64_t o : t.chunk_offsets) {
    if (co64) w.u64(o);
    else w.u32(static_cast<uint32_t>(o));
  }
  w.end(at);
  w.end(stbl);
}

Status write_trak(Writer& w, const OutTrack& t, bool co64) {
  std::string_view trak = t.init->trak;
  auto kids = child_boxes(trak, 8, trak.size());
  size_t at = w.begin("trak");
  for (const Box& b : kids) {
    if (b.type == "tkhd") {
      write_tkhd(w, trak, b, t.id, t.movie_duration());
      write_elst(w, t);
    } else if (b.type == "mdia") {
      size_t mdia = w.begin("mdia");
      for (const Box& m : child_boxes(trak, b.payload, b.end)) {
        if (m.type == "mdhd") {
          write_mdhd(w, trak, m, t.init->timescale, t.media_duration());
        } else if (m.type == "minf") {
          size_t minf = w.begin("minf");
          for (const Box& f : child_boxes(trak, m.payload, m.end)) {
            if (f.type == "stbl") write_stbl(w, t, co64);
            else w.bytes(trak.substr(f.begin, f.end - f.begin));
          }
          w.end(minf);
        } else {
          w.bytes(trak.substr(m.begin, m.end - m.begin));
        }
      }
      w.end(mdia);
    } else if (b.type != "edts") {
      w.bytes(trak.substr(b.begin, b.end - b.begin));
    }
  }
  w.end(at);
  return {};
}

}  // namespace

int64_t OutTrack::media_duration() const {
  int64_t sum = 0;
  for (uint32_t d : durations) sum += d;
  return sum;
}

int64_t OutTrack::movie_duration() const {
  int64_t ts = init ? init->timescale : 1;
  int64_t media = std::max<int64_t>(0, std::max(presentation_end, media_duration()) - media_time);
  return empty_movie + (media * kMovieTimescale + ts / 2) / ts;
}

void OutTrack::add(uint32_t size, uint32_t duration, int32_t cto, bool sync) {
  presentation_end = std::max(presentation_end, dts_end_ + cto + duration);
  dts_end_ += duration;
  sizes.push_back(size);
  durations.push_back(duration);
  if (cto != 0 && ctos.size() < sizes.size() - 1) ctos.resize(sizes.size() - 1, 0);
  if (cto != 0 || !ctos.empty()) ctos.push_back(cto);
  if (!sync && all_sync) {
    all_sync = false;
    for (uint32_t i = 1; i < sizes.size(); ++i) syncs.push_back(i);
  }
  if (sync && !all_sync) syncs.push_back(static_cast<uint32_t>(sizes.size()));
}

Result<std::string> build_header(const std::vector<OutTrack>& tracks, bool co64) {
  Writer w;
  size_t at = w.begin("ftyp");
  w.bytes("isom"), w.u32(0x200), w.bytes("isomiso2avc1mp41");
  w.end(at);
  int64_t duration = 0;
  for (const auto& t : tracks) duration = std::max(duration, t.movie_duration());
  size_t moov = w.begin("moov");
  bool v1 = !fits32(duration);
  at = w.full("mvhd", v1 ? 1 : 0, 0);
  if (v1) w.u64(0), w.u64(0), w.u32(kMovieTimescale), w.u64(static_cast<uint64_t>(duration));
  else w.u32(0), w.u32(0), w.u32(kMovieTimescale), w.u32(static_cast<uint32_t>(duration));
  w.u32(0x00010000), w.u16(0x0100), w.zeros(10);
  for (uint32_t m : kMatrix) w.u32(m);
  w.zeros(24);
  w.u32(static_cast<uint32_t>(tracks.size() + 1));
  w.end(at);
  for (const auto& t : tracks) {
    if (!t.init) return internal_error("track without init");
    if (t.chunk_offsets.size() != t.chunk_samples.size()) return internal_error("chunk tables differ in length");
    SIGMA_RETURN_IF_ERROR(write_trak(w, t, co64));
  }
  w.end(moov);
  return std::move(w.out);
}

std::string mdat_header(uint64_t payload) {
  Writer w;
  if (payload + 8 <= UINT32_MAX) {
    w.u32(static_cast<uint32_t>(payload + 8));
    w.bytes("mdat");
  } else {
    w.u32(1);
    w.bytes("mdat");
    w.u64(payload + 16);
  }
  return std::move(w.out);
}

}  // namespace sigma::dvr::mp4
