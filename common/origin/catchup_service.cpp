#include "origin/catchup_service.h"

#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/time.h"
#include "dvr/describe.h"
#include "dvr/export.h"
#include "http/mime.h"
#include "http/range.h"
#include "origin/gzip.h"
#include "origin/responses.h"
#include "origin/sessions.h"

namespace sigma::origin {

namespace bhttp = boost::beast::http;
using http::Response;



namespace {

Response error_response(const Status& s, bool head) {
  bhttp::status code = bhttp::status::service_unavailable;
  if (s.code() == ExitCode::kUsage) code = bhttp::status::bad_request;
  return text_response(code, s.message(), head);
}

// The track whose cuts every track of a range follows: the first
// variant of the live master (a video track; audio follows the video's
// cuts to within a frame); "" without a master. Read from the master
// rather than the index: listing an index's tracks scans all of it.
std::string reference_track(FileStore& store, const std::string& channel) {
  auto got = store.get(channel + "/master.m3u8");
  if (!std::holds_alternative<FileData>(got)) return {};
  const FileData& f = std::get<FileData>(got);
  if (!f.bytes) return {};
  std::string_view text(*f.bytes);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t slash = line.find('/');
    return slash == std::string_view::npos ? std::string() : std::string(line.substr(0, slash));
  }
  return {};
}

constexpr const char* kNoArchive = "no archive for this channel";

std::string range_text(int64_t from_ms, int64_t to_ms) { return iso8601_utc(from_ms) + " and " + iso8601_utc(to_ms); }

// Archived media does not change once written (retention only removes
// it): cacheable for a minute once the range lies well in the past,
// briefly while it may still grow.
std::string cache_control_for_range(int64_t to_ms, int64_t now_ms) {
  return to_ms < now_ms - 60000 ? "public, max-age=60" : "public, max-age=2";
}

}  // namespace

CatchupService::CatchupService(FileStore& store, CatchupOptions opts) : store_(store), opts_(opts) {
  for (int i = 0; i < std::max(1, opts_.workers); ++i)
    workers_.emplace_back([this] {
      for (;;) {
        std::function<void()> job;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
          if (jobs_.empty()) return;
          job = std::move(jobs_.front());
          jobs_.pop_front();
        }
        job();
      }
    });
}

CatchupService::~CatchupService() {
  stop();
  for (auto& t : workers_) t.join();
  std::lock_guard lock(exports_mu_);
  for (auto& e : exports_)
    if (e.thread.joinable()) e.thread.join();
}

void CatchupService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard lock(exports_mu_);
  for (auto& e : exports_) e.body->cancel();
}

bool CatchupService::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || jobs_.size() >= opts_.max_queued) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

bool CatchupService::handle(const std::shared_ptr<http::Exchange>& ex, const std::string& rel,
                            const http::Target& t) {
  auto parsed = parse_catchup(rel, t.query, unix_ms_now());
  if (!parsed) return false;
  bool head = ex->head();
  if (!*parsed) {
    ex->send(text_response(bhttp::status::bad_request, "catch-up range: " + parsed->status().message(), head));
    return true;
  }
  CatchupRequest r = std::move(**parsed);
  if (!submit([this, ex, r] { work(ex, r); })) {
    Response res = text_response(bhttp::status::service_unavailable, "catch-up busy, try again", head);
    res.set(bhttp::field::retry_after, "1");
    ex->send(std::move(res));
  }
  return true;
}

Result<CatchupService::Opened> CatchupService::channel(const std::string& name) {
  if (!store_.is_directory(name)) return usage_error("unknown channel");  // mapped to 404 by the caller
  std::string dir = store_.root() + "/" + name;
  struct stat st {};
  if (::stat((dir + "/" + dvr::kIndexPath).c_str(), &st) != 0) return system_error(kNoArchive);
  std::shared_ptr<Channel> ch;
  {
    std::lock_guard lock(channels_mu_);
    auto& slot = channels_[name];
    if (!slot) slot = std::make_shared<Channel>();
    ch = slot;
  }
  std::lock_guard lock(ch->mu);
  if (!ch->index || ch->dev != st.st_dev || ch->ino != st.st_ino) {
    ch->index.reset();
    auto idx = dvr::Index::open(dir, dvr::Index::Mode::kReadOnly);
    if (!idx) return idx.status();
    ch->index = std::shared_ptr<dvr::Index>(std::move(*idx));
    ch->dev = st.st_dev;
    ch->ino = st.st_ino;
  }
  return Opened{ch, ch->index};
}

Result<std::vector<dvr::SegmentRow>> CatchupService::rows(const dvr::Index& index, const std::string& channel,
                                                          const std::string& track, int64_t from_ms, int64_t to_ms) {
  std::string key = channel + "/" + track;
  auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const std::vector<dvr::SegmentRow>> hit;
  {
    std::lock_guard lock(rows_mu_);
    for (auto it = row_spans_.begin(); it != row_spans_.end();) {
      if (it->expires < now) {
        it = row_spans_.erase(it);
        continue;
      }
      if (!hit && it->key == key && from_ms >= it->from_ms && (to_ms <= it->to_ms || it->to_end)) hit = it->rows;
      ++it;
    }
  }
  if (hit) {
    std::vector<dvr::SegmentRow> out;
    for (const auto& r : *hit)
      if (r.start_ms < to_ms && r.end_ms() > from_ms) out.push_back(r);
    return out;
  }
  // A range ending less than 10 minutes ago is read up to now: the next
  // viewers' ranges (a little later each) are then covered too.
  int64_t now_ms = unix_ms_now();
  int64_t load_to = to_ms >= now_ms - 600000 ? std::max(to_ms, now_ms) : to_ms;
  SIGMA_ASSIGN_OR_RETURN(auto got, index.segments(track, from_ms, load_to));
  RowSpan span;
  span.key = key;
  span.from_ms = from_ms;
  span.to_ms = load_to;
  span.to_end = load_to >= now_ms;
  // What a live archive gains (its newest segments) must show soon; an
  // archive that ended a while ago changes only by retention.
  bool live = !got.empty() && got.back().end_ms() > now_ms - 60000;
  span.expires = now + (live ? std::chrono::milliseconds(2000) : std::chrono::milliseconds(30000));
  auto all = std::make_shared<const std::vector<dvr::SegmentRow>>(std::move(got));
  span.rows = all;
  std::vector<dvr::SegmentRow> out;
  out.reserve(all->size());
  for (const auto& r : *all)
    if (r.start_ms < to_ms && r.end_ms() > from_ms) out.push_back(r);
  std::lock_guard lock(rows_mu_);
  row_spans_.push_front(std::move(span));
  size_t total = 0;
  for (auto it = row_spans_.begin(); it != row_spans_.end();) {  // about 100 bytes a row: 32 MB at most
    total += it->rows->size();
    if (total > 320000) {
      it = row_spans_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::shared_ptr<const CatchupService::Answer> CatchupService::cached(const std::string& key) {
  std::lock_guard lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return nullptr;
  if (it->second.expires < std::chrono::steady_clock::now()) {
    cache_total_ -= it->second.answer->body->size();
    cache_.erase(it);
    return nullptr;
  }
  return it->second.answer;
}

void CatchupService::remember(const std::string& key, std::shared_ptr<const Answer> a) {
  if (opts_.cache_ttl.count() <= 0 || a->body->size() > opts_.cache_bytes / 4) return;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(cache_mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {  // few entries: a scan is cheap
    if (it->second.expires < now || cache_total_ + a->body->size() > opts_.cache_bytes) {
      cache_total_ -= it->second.answer->body->size();
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  // A range well in the past only changes by retention: kept longer.
  auto ttl = a->cache_control == "public, max-age=60" ? 5 * opts_.cache_ttl : opts_.cache_ttl;
  auto [it, fresh] = cache_.try_emplace(key, CacheEntry{now + ttl, a});
  if (fresh) cache_total_ += a->body->size();
}

void CatchupService::work(const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r) {
  bool head = ex->head();
  using Kind = CatchupRequest::Kind;
  if (r.kind == Kind::kMp4) return serve_mp4(ex, r);
  std::string key = std::to_string(static_cast<int>(r.kind)) + "|" + r.channel + "|" + r.track + "|" +
                    std::to_string(r.from_ms) + "|" + std::to_string(r.to_ms) + "|" + (r.query_form ? "q" : "p");
  std::shared_ptr<const Answer> a = r.kind == Kind::kJson ? nullptr : cached(key);
  if (!a && r.kind == Kind::kThumbnails) {
    if (!(a = thumbnails_answer(ex, r))) return;
    if (!r.live_window) remember(key, a);
  }
  if (!a) {
    auto opened = channel(r.channel);
    if (!opened) {
      const Status& s = opened.status();
      if (s.code() == ExitCode::kUsage || s.message() == kNoArchive)
        return ex->send(text_response(bhttp::status::not_found, s.message(), head));
      spdlog::warn("catch-up {}: archive index unreadable: {}", r.channel, s.message());
      return ex->send(text_response(bhttp::status::service_unavailable, "archive index unreadable: " + s.message(), head));
    }
    auto answer = std::make_shared<Answer>();
    auto* ch = &opened->channel;
    const dvr::Index& index = *opened->index;
    int64_t now = unix_ms_now();
    Status failed;
    if (r.kind == Kind::kJson) {
      std::lock_guard lock((*ch)->mu);
      auto j = dvr::describe(index, r.channel);
      if (!j) {
        failed = j.status();
      } else {
        answer->content_type = "application/json";
        answer->cache_control = std::string(kNoCache);
        answer->body = std::make_shared<const std::string>(j->dump() + "\n");
      }
    } else if (r.kind == Kind::kMedia) {
      Result<std::vector<dvr::SegmentRow>> rows = std::vector<dvr::SegmentRow>{};
      Result<std::vector<dvr::SegmentRow>> ref_rows = std::vector<dvr::SegmentRow>{};
      {
        std::lock_guard lock((*ch)->mu);
        std::string ref = reference_track(store_, r.channel);
        if (!ref.empty() && ref != r.track) {
          ref_rows = this->rows(index, r.channel, ref, r.from_ms, r.to_ms);
          if (ref_rows && ref_rows->empty()) ref.clear();  // not archived: the track on its own
        }
        if (ref.empty() || ref == r.track) {
          rows = this->rows(index, r.channel, r.track, r.from_ms, r.to_ms);
          ref_rows = rows;
        } else {
          int64_t lo = r.from_ms, hi = r.to_ms;
          if (ref_rows && !ref_rows->empty()) {
            // The same sequence numbers may start a little before or end
            // a little after the reference's (audio frames).
            lo = std::min(lo, ref_rows->front().start_ms) - 2000;
            hi = std::max(hi, ref_rows->back().end_ms()) + 2000;
          }
          rows = this->rows(index, r.channel, r.track, lo, hi);
        }
      }
      if (!rows || !ref_rows) {
        failed = rows ? ref_rows.status() : rows.status();
      } else {
        auto chosen = select_aligned(*ref_rows, *rows, r.from_ms, r.to_ms);
        if (chosen.empty())
          return ex->send(text_response(bhttp::status::not_found,
                                        "nothing archived for " + r.track + " between " + range_text(r.from_ms, r.to_ms),
                                        head));
        answer->content_type = std::string(http::mime_type_for(".m3u8"));
        answer->cache_control = cache_control_for_range(r.to_ms, now);
        answer->body = std::make_shared<const std::string>(vod_playlist(chosen, r.track));
      }
    } else {  // the master
      // What the first variant holds of the range (the rows its playlist
      // request will want next, cached by then).
      std::string ref = reference_track(store_, r.channel);
      Result<std::vector<dvr::SegmentRow>> ref_rows = std::vector<dvr::SegmentRow>{};
      if (!ref.empty()) {
        std::lock_guard lock((*ch)->mu);
        ref_rows = this->rows(index, r.channel, ref, r.from_ms, r.to_ms);
      }
      std::vector<dvr::SegmentRow> chosen;
      if (!ref_rows) {
        failed = ref_rows.status();
      } else {
        chosen = select_segments(*ref_rows, r.from_ms, r.to_ms);
        if (chosen.empty())
          return ex->send(text_response(bhttp::status::not_found,
                                        "nothing archived between " + range_text(r.from_ms, r.to_ms), head));
        auto got = store_.get(r.channel + "/master.m3u8");
        if (!std::holds_alternative<FileData>(got))
          return ex->send(text_response(bhttp::status::not_found, "the channel has no master.m3u8", head));
        const FileData& f = std::get<FileData>(got);
        std::string text;
        if (f.bytes) {
          text = *f.bytes;
        } else {
          text.resize(f.size);
          ssize_t n = ::pread(f.file->fd(), text.data(), text.size(), 0);
          text.resize(n > 0 ? static_cast<size_t>(n) : 0);
        }
        // A range that starts before the archive does is written from its
        // start (and one that ends after it to its end), so the variants
        // name the range they really cover.
        int64_t from = std::max(r.from_ms, chosen.front().start_ms), to = std::min(r.to_ms, chosen.back().end_ms());
        answer->content_type = std::string(http::mime_type_for(".m3u8"));
        answer->cache_control = cache_control_for_range(r.to_ms, now);
        answer->body = std::make_shared<const std::string>(catchup_master(text, from, to, r.query_form));
      }
    }
    if (!failed.is_ok()) {
      spdlog::warn("catch-up {}: archive query failed: {}", r.channel, failed.message());
      return ex->send(text_response(bhttp::status::service_unavailable, "archive query failed: " + failed.message(), head));
    }
    a = answer;
    if (r.kind != Kind::kJson) remember(key, a);
  }

  // A master asked for without a session starts one (its own copy, never
  // the cached answer's bytes).
  if (r.kind == Kind::kMaster && a->status == bhttp::status::ok && a->body)
    if (auto body = session_master(*ex, *a->body)) return ex->send(session_master_response(std::move(*body), head));
  Response res = base_response(a->status);
  res.set(bhttp::field::content_type, a->content_type);
  res.set(bhttp::field::cache_control, a->cache_control);
  res.set(bhttp::field::vary, "Accept-Encoding");
  std::shared_ptr<const std::string> body = a->body;
  const auto& req = ex->request();
  if (auto ae = req.find(bhttp::field::accept_encoding);
      ae != req.end() && accepts_gzip(ae->value()) && body->size() >= kGzipMinBytes) {
    std::lock_guard lock(a->mu);
    if (!a->gz_done) {
      // Level 1 for the big ones (a day's playlist): three times faster
      // than 6 for a few percent more bytes, and it is made per range.
      if (auto z = gzip_compress(*a->body, a->body->size() > (256u << 10) ? 1 : 6)) a->gz = std::make_shared<const std::string>(std::move(*z));
      a->gz_done = true;
    }
    if (a->gz) {
      body = a->gz;
      res.set(bhttp::field::content_encoding, "gzip");
    }
  }
  uint64_t n = body->size();
  http::set_bytes(res, std::move(body), 0, n, head);
  ex->send(std::move(res));
}

void CatchupService::serve_mp4(const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r) {
  bool head = ex->head();
  if (!store_.is_directory(r.channel)) return ex->send(text_response(bhttp::status::not_found, "unknown channel", head));
  // An index of its own: the export reads it while the download lasts,
  // beside the playlists' queries.
  auto index = dvr::Index::open(store_.root() + "/" + r.channel, dvr::Index::Mode::kReadOnly);
  if (!index) {
    bool missing = index.status().code() == ExitCode::kSystem;
    spdlog::warn("catch-up {}: {}", r.channel, index.status().message());
    return ex->send(text_response(missing ? bhttp::status::not_found : bhttp::status::service_unavailable,
                                  missing ? "no archive for this channel" : index.status().message(), head));
  }
  std::shared_ptr<dvr::Index> idx(std::move(*index));
  dvr::ExportRequest er;
  er.from_ms = r.from_ms;
  er.to_ms = r.to_ms;
  er.variant = r.variant;
  auto planned = dvr::plan_export(*idx, er);
  if (!planned) {
    const Status& s = planned.status();
    if (s.code() == ExitCode::kData) return ex->send(text_response(bhttp::status::not_found, s.message(), head));
    if (s.code() != ExitCode::kUsage) spdlog::warn("catch-up {}: export: {}", r.channel, s.message());
    return ex->send(error_response(s, head));
  }
  std::shared_ptr<const dvr::ExportPlan> plan(std::move(*planned));
  uint64_t size = plan->size();

  const auto& req = ex->request();
  http::RangeResult range;
  if (auto it = req.find(bhttp::field::range); it != req.end()) range = http::parse_range(it->value(), size);
  if (range.kind == http::RangeKind::kUnsatisfiable) {
    Response res = text_response(bhttp::status::range_not_satisfiable, "range not satisfiable", head);
    res.set(bhttp::field::content_range, "bytes */" + std::to_string(size));
    return ex->send(std::move(res));
  }
  bool partial = range.kind == http::RangeKind::kPartial;
  uint64_t first = partial ? range.range.first : 0, length = partial ? range.range.length : size;
  Response res = base_response(partial ? bhttp::status::partial_content : bhttp::status::ok);
  res.set(bhttp::field::content_type, "video/mp4");
  res.set(bhttp::field::accept_ranges, "bytes");
  res.set(bhttp::field::cache_control, cache_control_for_range(r.to_ms, unix_ms_now()));
  if (r.attachment) res.set(bhttp::field::content_disposition, "attachment; filename=\"" + r.filename + "\"");
  if (partial)
    res.set(bhttp::field::content_range,
            "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" + std::to_string(size));
  res.content_length(length);
  if (head || length == 0) return ex->send(std::move(res));

  auto body = std::make_shared<http::BodyStream>(2u << 20);
  auto done = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(exports_mu_);
    for (auto it = exports_.begin(); it != exports_.end();) {  // reap the finished ones
      if (it->done->load()) {
        it->thread.join();
        it = exports_.erase(it);
      } else {
        ++it;
      }
    }
    bool stopping;
    {
      std::lock_guard l(mu_);
      stopping = stopping_;
    }
    if (stopping || exports_.size() >= static_cast<size_t>(opts_.max_exports)) {
      Response busy = text_response(bhttp::status::service_unavailable, "too many exports at once, try again", false);
      busy.set(bhttp::field::retry_after, "5");
      return ex->send(std::move(busy));
    }
    ex->send_stream(std::move(res), body);
    Export e;
    e.body = body;
    e.done = done;
    std::string channel = r.channel;
    e.thread = std::thread([idx, plan, body, done, first, length, channel] {
      constexpr size_t kChunk = 256 * 1024;
      std::string buf;
      uint64_t pos = 0, end = first + length, sent = 0;
      const Status kEnough = internal_error("enough");  // the range is out: stop early
      Status st = plan->write([&](const char* data, size_t n) -> Status {
        uint64_t a = std::max<uint64_t>(pos, first), b = std::min<uint64_t>(pos + n, end);
        if (a < b) {
          buf.append(data + (a - pos), static_cast<size_t>(b - a));
          sent += b - a;
        }
        pos += n;
        if (buf.size() >= kChunk || (sent == length && !buf.empty())) {
          if (!body->push(std::move(buf))) return system_error("client went away");
          buf.clear();
        }
        if (pos >= end) return kEnough;
        return {};
      });
      bool ok = sent == length && (st.is_ok() || st.message() == kEnough.message());
      if (ok && !buf.empty()) ok = body->push(std::move(buf));
      if (!ok && !body->cancelled()) spdlog::warn("catch-up {}: export cut short: {}", channel, st.message());
      body->finish(ok);
      done->store(true);
    });
    exports_.push_back(std::move(e));
  }
}

}  // namespace sigma::origin
