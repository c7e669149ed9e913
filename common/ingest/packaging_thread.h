#pragma once
// The one thread that runs every in-process HLS packager, so that the
// event loop never waits on the disk: segment, part and playlist writes,
// renames and deletions happen here. Tasks run in the order posted; the
// queue is bounded in bytes, and media that does not fit is refused (the
// caller drops it and counts), so a stalled disk costs packets of the
// channels being written, never the sockets of all of them.
// (Generic: a bounded task queue with one worker; could live in base/.)
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace sigma::ingest {

class PackagingThread {
 public:
  explicit PackagingThread(size_t max_queued_bytes);
  // Runs what is queued, then joins.
  ~PackagingThread();
  PackagingThread(const PackagingThread&) = delete;
  PackagingThread& operator=(const PackagingThread&) = delete;

  // bytes: the media the task carries. droppable: refused (false returned)
  // when the queue already holds max_queued_bytes; control tasks (session
  // start and end) always queue.
  bool post(std::function<void()> task, size_t bytes, bool droppable);
  // Waits until every task posted so far has run.
  void drain();
  size_t queued_bytes() const;

 private:
  void run();

  struct Task {
    std::function<void()> fn;
    size_t bytes;
  };
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Task> tasks_;
  size_t bytes_ = 0;
  bool busy_ = false;
  bool idle_ = false;  // in an untimed wait: a post must wake it
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is initialised
};

}  // namespace sigma::ingest
