#pragma once
// Answers catch-up URLs (catchup.h) from each channel's archive index,
// opened read-only, off the I/O threads: index queries and playlist
// generation run on a small worker pool with a bounded queue (beyond it a
// 503, never a stalled event loop), answers are kept a few seconds (a
// range that many viewers open at once is built once), and an MP4 export
// streams from a thread of its own through a bounded queue.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "dvr/index.h"
#include "http/server.h"
#include "http/url.h"
#include "origin/catchup.h"
#include "origin/file_store.h"
#include "origin/thumbs.h"

namespace sigma::origin {

struct CatchupOptions {
  int workers = 2;           // threads for index queries and playlists
  size_t max_queued = 64;    // requests waiting for a worker; more: 503
  int max_exports = 4;       // MP4 downloads at once; more: 503
  std::chrono::milliseconds cache_ttl{2000};  // answers kept this long
  size_t cache_bytes = 64u << 20;
};

class CatchupService {
 public:
  CatchupService(FileStore& store, CatchupOptions opts = {});
  ~CatchupService();  // stops and joins every thread
  CatchupService(const CatchupService&) = delete;
  CatchupService& operator=(const CatchupService&) = delete;

  // Takes the request if it is a catch-up URL (true), answering it later
  // from a worker; false: not one, serve it as a file.
  bool handle(const std::shared_ptr<http::Exchange>& ex, const std::string& rel, const http::Target& t);
  // Ends running exports and refuses new work.
  void stop();

  struct Answer;
  struct Channel;

 private:
  bool submit(std::function<void()> job);
  void work(const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r);
  void serve_mp4(const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r);
  // The WebVTT of a kThumbnails request (catchup_thumbs.cpp), or null once
  // an error has been answered.
  std::shared_ptr<const Answer> thumbnails_answer(const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r);
  // The catch-up VOD's timeline for r's range (its first variant's rows,
  // chosen as the playlist chooses them); empty without an archive.
  std::vector<VodPiece> vod_pieces(const CatchupRequest& r);
  // The channel's index (opened once, reopened when the file is replaced),
  // or the status to answer with (404 no archive, 503 unreadable).
  struct Opened {
    std::shared_ptr<Channel> channel;  // its mutex guards queries on index
    std::shared_ptr<dvr::Index> index;
  };
  Result<Opened> channel(const std::string& name);
  // The rows of one track overlapping [from, to), from the row cache when
  // an earlier query covered them (a day of 4 s segments is 21,600 rows,
  // 15-50 ms of SQLite; viewers of one programme ask ranges close to one
  // another), else from the index (caller holds the channel's mutex). A
  // range ending in the last 10 minutes is read up to now, so that later
  // ones are covered; spans are kept 2 s while the archive is live at
  // their end, 30 s otherwise, 320,000 rows in all.
  Result<std::vector<dvr::SegmentRow>> rows(const dvr::Index& index, const std::string& channel,
                                            const std::string& track, int64_t from_ms, int64_t to_ms);
  std::shared_ptr<const Answer> cached(const std::string& key);
  void remember(const std::string& key, std::shared_ptr<const Answer> a);

  FileStore& store_;
  CatchupOptions opts_;
  SheetCache sheets_;  // thumbnails.vtt's sprite sheets

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  std::mutex channels_mu_;
  std::unordered_map<std::string, std::shared_ptr<Channel>> channels_;

  std::mutex cache_mu_;
  struct CacheEntry {
    std::chrono::steady_clock::time_point expires;
    std::shared_ptr<const Answer> answer;
  };
  std::unordered_map<std::string, CacheEntry> cache_;
  size_t cache_total_ = 0;

  struct RowSpan {
    std::string key;  // channel '/' track
    int64_t from_ms = 0, to_ms = 0;  // what the query asked
    bool to_end = false;             // it asked up to now: it has all the archive had
    std::chrono::steady_clock::time_point expires;
    std::shared_ptr<const std::vector<dvr::SegmentRow>> rows;
  };
  std::mutex rows_mu_;
  std::list<RowSpan> row_spans_;  // most recent first

  struct Export {
    std::thread thread;
    std::shared_ptr<http::BodyStream> body;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex exports_mu_;
  std::list<Export> exports_;
};

// A built answer: the body and, made on first demand, its gzip form.
struct CatchupService::Answer {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string content_type;
  std::string cache_control;
  std::shared_ptr<const std::string> body;
  mutable std::mutex mu;
  mutable std::shared_ptr<const std::string> gz;
  mutable bool gz_done = false;
  size_t bytes() const { return body->size() + (gz ? gz->size() : 0); }
};

// A channel's archive index, opened read-only.
struct CatchupService::Channel {
  std::mutex mu;  // one query at a time on the connection
  std::shared_ptr<dvr::Index> index;
  dev_t dev = 0;
  ino_t ino = 0;
};

}  // namespace sigma::origin
