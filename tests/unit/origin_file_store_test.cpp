// The served root: nothing outside it is reachable, and a file replaced by
// rename is never served from a stale cache entry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "origin/file_store.h"

namespace sigma::origin {
namespace {

namespace fs = std::filesystem;

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/origin-file-store-XXXXXX";
    base_ = mkdtemp(tmpl);
    fs::create_directories(base_ + "/root/ch");
    write(base_ + "/outside.txt", "secret");
    write(base_ + "/root/ch/a.m4s", "first");
    fs::create_symlink(base_ + "/outside.txt", base_ + "/root/ch/escape.m4s");
    fs::create_symlink("a.m4s", base_ + "/root/ch/inside.m4s");
    fs::create_directory_symlink(base_, base_ + "/root/up");
    auto s = FileStore::open(base_ + "/root");
    ASSERT_TRUE(s);
    store_ = std::move(*s);
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  std::string content(const std::string& rel) {
    auto got = store_->get(rel);
    if (!std::holds_alternative<FileData>(got)) return "<error>";
    return *std::get<FileData>(got).bytes;
  }
  OpenError error(const std::string& rel) {
    auto got = store_->get(rel);
    EXPECT_TRUE(std::holds_alternative<OpenError>(got)) << rel;
    return std::holds_alternative<OpenError>(got) ? std::get<OpenError>(got) : OpenError::kIo;
  }

  std::string base_;
  std::unique_ptr<FileStore> store_;
};

TEST_F(FileStoreTest, ServesFilesAndSymlinksThatStayInside) {
  EXPECT_EQ(content("ch/a.m4s"), "first");
  EXPECT_EQ(content("ch/inside.m4s"), "first");
}

TEST_F(FileStoreTest, RefusesWhatLeadsOutside) {
  EXPECT_EQ(error("ch/escape.m4s"), OpenError::kForbidden);
  EXPECT_EQ(error("up/outside.txt"), OpenError::kForbidden);
  EXPECT_EQ(error("ch/missing.m4s"), OpenError::kNotFound);
  EXPECT_EQ(error("ch"), OpenError::kIsDirectory);
}

TEST_F(FileStoreTest, ARenamedReplacementIsSeenAtOnce) {
  EXPECT_EQ(content("ch/a.m4s"), "first");
  write(base_ + "/root/ch/a.m4s.tmp", "second!");
  ASSERT_EQ(std::rename((base_ + "/root/ch/a.m4s.tmp").c_str(), (base_ + "/root/ch/a.m4s").c_str()), 0);
  EXPECT_EQ(content("ch/a.m4s"), "second!");
  // Same length, new inode: still seen.
  write(base_ + "/root/ch/a.m4s.tmp", "third!!");
  ASSERT_EQ(std::rename((base_ + "/root/ch/a.m4s.tmp").c_str(), (base_ + "/root/ch/a.m4s").c_str()), 0);
  EXPECT_EQ(content("ch/a.m4s"), "third!!");
}

TEST_F(FileStoreTest, ListsADirectory) {
  auto names = store_->list("ch");
  EXPECT_EQ(names.size(), 3u);
  EXPECT_TRUE(store_->list("nope").empty());
}

}  // namespace
}  // namespace sigma::origin
