#include "dvr/mp4_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace sigma::dvr::mp4 {

std::vector<Box> child_boxes(std::string_view data, size_t from, size_t to, bool* ok) {
  std::vector<Box> out;
  if (ok) *ok = true;
  to = std::min(to, data.size());
  const auto* d = reinterpret_cast<const uint8_t*>(data.data());
  while (from + 8 <= to) {
    uint64_t size = be32(d + from);
    size_t header = 8;
    if (size == 1) {
      if (from + 16 > to) break;
      size = be64(d + from + 8);
      header = 16;
    } else if (size == 0) {
      size = to - from;
    }
    if (size < header || size > to - from) break;
    out.push_back({data.substr(from + 4, 4), from, from + header, from + static_cast<size_t>(size)});
    from += static_cast<size_t>(size);
  }
  if (ok && from != to) *ok = false;
  return out;
}

const InitTrack* Init::find(std::string_view handler) const {
  for (const auto& t : tracks)
    if (t.handler == handler) return &t;
  return nullptr;
}

const InitTrack* Init::by_id(uint32_t id) const {
  for (const auto& t : tracks)
    if (t.track_id == id) return &t;
  return nullptr;
}

namespace {

const Box* find_box(const std::vector<Box>& boxes, std::string_view type) {
  for (const auto& b : boxes)
    if (b.type == type) return &b;
  return nullptr;
}

Status parse_trak(std::string_view data, const Box& trak, InitTrack& t) {
  const auto* d = reinterpret_cast<const uint8_t*>(data.data());
  auto kids = child_boxes(data, trak.payload, trak.end);
  const Box* tkhd = find_box(kids, "tkhd");
  const Box* mdia = find_box(kids, "mdia");
  if (!tkhd || !mdia) return data_error("trak without tkhd or mdia");
  uint8_t v = d[tkhd->payload];
  size_t id_at = tkhd->payload + (v == 1 ? 20 : 12);
  if (id_at + 4 > tkhd->end) return data_error("short tkhd");
  t.track_id = be32(d + id_at);
  auto mk = child_boxes(data, mdia->payload, mdia->end);
  const Box* mdhd = find_box(mk, "mdhd");
  const Box* hdlr = find_box(mk, "hdlr");
  const Box* minf = find_box(mk, "minf");
  if (!mdhd || !hdlr || !minf) return data_error("mdia without mdhd, hdlr or minf");
  v = d[mdhd->payload];
  size_t ts_at = mdhd->payload + (v == 1 ? 20 : 12);
  if (ts_at + 4 > mdhd->end || hdlr->payload + 12 > hdlr->end) return data_error("short mdhd or hdlr");
  t.timescale = be32(d + ts_at);
  t.handler = std::string(data.substr(hdlr->payload + 8, 4));
  auto fk = child_boxes(data, minf->payload, minf->end);
  const Box* stbl = find_box(fk, "stbl");
  if (!stbl) return data_error("minf without stbl");
  auto sk = child_boxes(data, stbl->payload, stbl->end);
  const Box* stsd = find_box(sk, "stsd");
  if (!stsd) return data_error("stbl without stsd");
  t.stsd = std::string(data.substr(stsd->begin, stsd->end - stsd->begin));
  t.trak = std::string(data.substr(trak.begin, trak.end - trak.begin));
  if (t.timescale == 0) return data_error("mdhd timescale 0");
  return {};
}

}  // namespace

Result<Init> parse_init(std::string_view data) {
  const auto* d = reinterpret_cast<const uint8_t*>(data.data());
  Init init;
  auto top = child_boxes(data, 0, data.size());
  const Box* moov = find_box(top, "moov");
  if (!moov) return data_error("no moov box");
  auto kids = child_boxes(data, moov->payload, moov->end);
  for (const Box& b : kids) {
    if (b.type != "trak") continue;
    InitTrack t;
    SIGMA_RETURN_IF_ERROR_CTX(parse_trak(data, b, t), "trak");
    init.tracks.push_back(std::move(t));
  }
  if (const Box* mvex = find_box(kids, "mvex")) {
    for (const Box& b : child_boxes(data, mvex->payload, mvex->end)) {
      if (b.type != "trex" || b.payload + 24 > b.end) continue;
      uint32_t id = be32(d + b.payload + 4);
      for (auto& t : init.tracks) {
        if (t.track_id != id) continue;
        t.default_sdi = be32(d + b.payload + 8);
        t.default_duration = be32(d + b.payload + 12);
        t.default_size = be32(d + b.payload + 16);
        t.default_flags = be32(d + b.payload + 20);
      }
    }
  }
  if (init.tracks.empty()) return data_error("no track in moov");
  return init;
}

int64_t Fragments::duration() const {
  int64_t sum = 0;
  for (const auto& s : samples) sum += s.duration;
  return sum;
}

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status pread_all(int fd, char* buf, size_t n, uint64_t at) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(at));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("read", errno);
    if (r == 0) return data_error("file ends inside a box");
    buf += r;
    n -= static_cast<size_t>(r);
    at += static_cast<uint64_t>(r);
  }
  return {};
}

Fragments& fragments_of(std::vector<Fragments>& all, uint32_t id) {
  for (auto& f : all)
    if (f.track_id == id) return f;
  all.push_back({});
  all.back().track_id = id;
  return all.back();
}

// One moof, read into memory, at file offset moof_at.
Status parse_moof(std::string_view m, uint64_t moof_at, const Init& init, std::vector<Fragments>& out) {
  const auto* d = reinterpret_cast<const uint8_t*>(m.data());
  uint64_t prev_traf_end = moof_at;
  for (const Box& traf : child_boxes(m, 8, m.size())) {
    if (traf.type != "traf") continue;
    auto kids = child_boxes(m, traf.payload, traf.end);
    const Box* tfhd = find_box(kids, "tfhd");
    if (!tfhd || tfhd->payload + 8 > tfhd->end) return data_error("traf without tfhd");
    uint32_t tf_flags = be32(d + tfhd->payload) & 0xffffff;
    uint32_t id = be32(d + tfhd->payload + 4);
    const InitTrack* it = init.by_id(id);
    if (!it) continue;
    size_t p = tfhd->payload + 8;
    auto field = [&](uint32_t flag, size_t bytes, uint64_t& v) -> bool {
      if (!(tf_flags & flag)) return true;
      if (p + bytes > tfhd->end) return false;
      v = bytes == 8 ? be64(d + p) : be32(d + p);
      p += bytes;
      return true;
    };
    uint64_t base = 0, sdi = it->default_sdi, dur = it->default_duration, size = it->default_size,
             flags = it->default_flags;
    bool explicit_base = tf_flags & 0x1;
    if (!field(0x1, 8, base) || !field(0x2, 4, sdi) || !field(0x8, 4, dur) || !field(0x10, 4, size) ||
        !field(0x20, 4, flags))
      return data_error("short tfhd");
    if (!explicit_base) base = (tf_flags & 0x20000) ? moof_at : prev_traf_end;

    Fragments& f = fragments_of(out, id);
    int64_t tfdt = -1;
    if (const Box* b = find_box(kids, "tfdt")) {
      if (b->payload + 8 > b->end) return data_error("short tfdt");
      tfdt = d[b->payload] == 1 ? static_cast<int64_t>(be64(d + b->payload + 4)) : be32(d + b->payload + 4);
    }
    if (tfdt >= 0) {
      if (f.samples.empty()) {
        f.base_dts = tfdt;
      } else {
        // A later traf (an LL-HLS part) says where its samples really
        // start: what is missing or too much goes on the previous sample.
        int64_t expect = f.base_dts + f.duration();
        int64_t fix = static_cast<int64_t>(f.samples.back().duration) + (tfdt - expect);
        if (fix > 0 && fix < (int64_t{1} << 31)) f.samples.back().duration = static_cast<uint32_t>(fix);
      }
    }
    uint64_t pos = base;
    for (const Box& trun : kids) {
      if (trun.type != "trun") continue;
      if (trun.payload + 8 > trun.end) return data_error("short trun");
      uint8_t version = d[trun.payload];
      uint32_t tr_flags = be32(d + trun.payload) & 0xffffff;
      uint32_t count = be32(d + trun.payload + 4);
      size_t q = trun.payload + 8;
      if (tr_flags & 0x1) {
        if (q + 4 > trun.end) return data_error("short trun");
        pos = base + static_cast<int64_t>(static_cast<int32_t>(be32(d + q)));
        q += 4;
      }
      uint32_t first_flags = static_cast<uint32_t>(flags);
      bool has_first = tr_flags & 0x4;
      if (has_first) {
        if (q + 4 > trun.end) return data_error("short trun");
        first_flags = be32(d + q);
        q += 4;
      }
      size_t per = 4 * (!!(tr_flags & 0x100) + !!(tr_flags & 0x200) + !!(tr_flags & 0x400) + !!(tr_flags & 0x800));
      if (q + per * count > trun.end) return data_error("trun sample table past its box");
      f.samples.reserve(f.samples.size() + count);
      for (uint32_t i = 0; i < count; ++i) {
        Sample s;
        s.duration = static_cast<uint32_t>(dur);
        s.size = static_cast<uint32_t>(size);
        uint32_t sf = i == 0 && has_first ? first_flags : static_cast<uint32_t>(flags);
        if (tr_flags & 0x100) s.duration = be32(d + q), q += 4;
        if (tr_flags & 0x200) s.size = be32(d + q), q += 4;
        if (tr_flags & 0x400) {
          sf = be32(d + q);
          q += 4;
          if (i == 0 && has_first) sf = first_flags;
        }
        if (tr_flags & 0x800) {
          uint32_t c = be32(d + q);
          q += 4;
          s.cto = version == 0 ? static_cast<int32_t>(std::min<uint32_t>(c, INT32_MAX)) : static_cast<int32_t>(c);
        }
        s.sync = !(sf & kSampleNonSync);
        s.offset = pos;
        pos += s.size;
        f.samples.push_back(s);
      }
    }
    prev_traf_end = pos;
  }
  return {};
}

}  // namespace

Result<std::vector<Fragments>> read_fragments(const std::string& path, const Init& init) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_error("open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path, errno);
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  std::vector<Fragments> out;
  std::string buf;
  uint64_t at = 0;
  while (at + 8 <= file_size) {
    uint8_t h[16];
    size_t hn = file_size - at >= 16 ? 16 : 8;
    SIGMA_RETURN_IF_ERROR_CTX(pread_all(fd.get(), reinterpret_cast<char*>(h), hn, at), path);
    uint64_t size = be32(h);
    if (size == 1 && hn == 16) size = be64(h + 8);
    else if (size == 0) size = file_size - at;
    if (size < 8 || size > file_size - at) return data_error(path + ": box past the end of the file");
    if (std::string_view(reinterpret_cast<const char*>(h + 4), 4) == "moof") {
      if (size > (64u << 20)) return data_error(path + ": moof over 64 MiB");
      buf.resize(static_cast<size_t>(size));
      SIGMA_RETURN_IF_ERROR_CTX(pread_all(fd.get(), buf.data(), buf.size(), at), path);
      SIGMA_RETURN_IF_ERROR_CTX(parse_moof(buf, at, init, out), path);
    }
    at += size;
  }
  for (const auto& f : out)
    for (const auto& s : f.samples)
      if (s.offset + s.size > file_size) return data_error(path + ": sample data past the end of the file");
  return out;
}

}  // namespace sigma::dvr::mp4
