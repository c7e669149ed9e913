#include "db/db.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using sigma::ExitCode;
using namespace sigma::db;

namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sigma_db_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }
  fs::path dir_;
};

TEST_F(DbTest, WritesReadsAndCachesStatements) {
  auto d = Db::open(path("a.sqlite"));
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  auto& db = **d;
  ASSERT_TRUE(db.exec("CREATE TABLE t(k TEXT PRIMARY KEY, v INTEGER)").is_ok());
  for (int i = 0; i < 3; ++i) {
    auto q = db.query("INSERT INTO t(k, v) VALUES(?1, ?2)");
    ASSERT_TRUE(q.is_ok());
    q->bind(1, "k" + std::to_string(i)).bind(2, int64_t{i * 10});
    ASSERT_TRUE(q->run().is_ok());
  }
  EXPECT_EQ(*db.scalar("SELECT sum(v) FROM t"), 30);
  auto q = db.query("SELECT k, v FROM t WHERE v >= ?1 ORDER BY k");
  ASSERT_TRUE(q.is_ok());
  q->bind(1, int64_t{10});
  std::vector<std::string> ks;
  while (*q->step()) ks.push_back(q->text(0));
  EXPECT_EQ(ks, (std::vector<std::string>{"k1", "k2"}));
  auto jm = db.query("PRAGMA journal_mode");
  ASSERT_TRUE(*jm->step());
  EXPECT_EQ(jm->text(0), "wal");
}

TEST_F(DbTest, TransactionRollsBackUnlessCommitted) {
  auto db = std::move(Db::open(path("t.sqlite")).value());
  ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER)").is_ok());
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx.is_ok());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES(1)").is_ok());
  }  // rolled back
  EXPECT_EQ(*db->scalar("SELECT count(*) FROM t"), 0);
  sigma::Status st = in_transaction(*db, [&] { return db->exec("INSERT INTO t VALUES(2)"); });
  EXPECT_TRUE(st.is_ok());
  st = in_transaction(*db, [&]() -> sigma::Status {
    SIGMA_RETURN_IF_ERROR(db->exec("INSERT INTO t VALUES(3)"));
    return sigma::usage_error("no");
  });
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(*db->scalar("SELECT count(*) FROM t"), 1);
}

TEST_F(DbTest, ErrorsAreClassified) {
  // Not a database: a data error, with the hint.
  { std::ofstream(path("junk.sqlite")) << std::string(4096, 'x'); }
  OpenOptions o;
  o.label = "state";
  o.corrupt_hint = "(move it away)";
  auto junk = Db::open(path("junk.sqlite"), o);
  ASSERT_FALSE(junk.is_ok());
  EXPECT_EQ(junk.status().code(), ExitCode::kData);
  EXPECT_NE(junk.status().message().find("state " + path("junk.sqlite")), std::string::npos);
  EXPECT_NE(junk.status().message().find("(move it away)"), std::string::npos);
  // Cannot open: a system error.
  auto none = Db::open(path("no/such/dir/x.sqlite"));
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), ExitCode::kSystem);
  OpenOptions ro;
  ro.mode = Mode::kReadOnly;
  auto missing = Db::open(path("missing.sqlite"), ro);
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), ExitCode::kSystem);
  // A bad statement: internal.
  auto db = std::move(Db::open(path("ok.sqlite")).value());
  auto bad = db->query("SELEKT 1");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ExitCode::kInternal);
}

TEST_F(DbTest, ReadOnlyReadsButDoesNotWrite) {
  {
    auto db = std::move(Db::open(path("r.sqlite")).value());
    ASSERT_TRUE(db->exec("CREATE TABLE t(v INTEGER); INSERT INTO t VALUES(7)").is_ok());
    ASSERT_TRUE(db->set_user_version(3).is_ok());
  }
  OpenOptions ro;
  ro.mode = Mode::kReadOnly;
  auto r = Db::open(path("r.sqlite"), ro);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)->scalar("SELECT v FROM t"), 7);
  EXPECT_EQ(*(*r)->user_version(), 3);
  EXPECT_TRUE(*(*r)->has_table("t"));
  sigma::Status st = (*r)->exec("INSERT INTO t VALUES(8)");
  EXPECT_EQ(st.code(), ExitCode::kSystem);
}

}  // namespace
