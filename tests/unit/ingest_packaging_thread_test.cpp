// The packaging thread of sigma-ingest: tasks run in order, media beyond the
// byte bound is refused (the caller drops it) while control tasks always
// queue, and drain() and the destructor run everything posted.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "ingest/packaging_thread.h"

using sigma::ingest::PackagingThread;

TEST(PackagingThread, RunsTasksInOrderAndDrains) {
  PackagingThread t(1 << 20);
  std::vector<int> seen;  // touched by the worker only until drain()
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(t.post([&seen, i] { seen.push_back(i); }, 100, true));
  t.drain();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[size_t(i)], i);
  EXPECT_EQ(t.queued_bytes(), 0u);
}

TEST(PackagingThread, RefusesMediaBeyondTheBoundButNotControlTasks) {
  PackagingThread t(1000);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  // The worker is stuck in this task, as on a stalled disk.
  ASSERT_TRUE(t.post([gate] { gate.wait(); }, 0, false));
  std::atomic<int> ran{0};
  EXPECT_TRUE(t.post([&] { ++ran; }, 600, true));
  EXPECT_FALSE(t.post([&] { ++ran; }, 600, true));  // 1200 > 1000: dropped
  EXPECT_TRUE(t.post([&] { ++ran; }, 600, false));  // a session end still queues
  EXPECT_EQ(t.queued_bytes(), 1200u);
  release.set_value();
  t.drain();
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(t.post([&] { ++ran; }, 600, true));  // room again
  t.drain();
  EXPECT_EQ(ran, 3);
}

TEST(PackagingThread, WakesForAPostAfterIdlingAndTheDestructorRunsTheRest) {
  std::atomic<int> ran{0};
  {
    PackagingThread t(1 << 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // past a batch: idle
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(t.post([&] { ++ran; }, 10, true));
    while (ran == 0 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(ran, 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
    for (int i = 0; i < 50; ++i) t.post([&] { ++ran; }, 10, true);
  }
  EXPECT_EQ(ran, 51);
}
