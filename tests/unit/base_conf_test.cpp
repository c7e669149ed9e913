#include <gtest/gtest.h>

#include "base/conf.h"

using namespace sigma;

namespace {
const std::vector<ConfSectionKind> kKinds = {{"global", false}, {"subscription", true}};

void expect_error(const std::string& text, const std::string& prefix, const std::string& what) {
  auto doc = parse_conf(text, "h.conf", kKinds);
  ASSERT_FALSE(doc.is_ok()) << text;
  EXPECT_EQ(doc.status().code(), ExitCode::kUsage);
  EXPECT_EQ(doc.status().message().rfind(prefix, 0), 0u) << doc.status().message();
  EXPECT_NE(doc.status().message().find(what), std::string::npos) << doc.status().message();
}
}  // namespace

TEST(Conf, SectionsAndKeysInFileOrder) {
  auto doc = parse_conf("# c\n[global]\nstate = /x\n\n[subscription \"a b\"]\n url = http://h/ \n; c\n[subscription c]\n",
                        "h.conf", kKinds);
  ASSERT_TRUE(doc.is_ok()) << doc.status().message();
  ASSERT_EQ(doc->sections.size(), 3u);
  EXPECT_EQ(doc->sections[0].header.kind, "global");
  EXPECT_EQ(doc->sections[0].entries.at(0).value, "/x");
  EXPECT_EQ(doc->sections[0].entries.at(0).line, 3);
  EXPECT_EQ(doc->sections[1].header.name, "a b");
  EXPECT_EQ(doc->sections[1].header.line, 5);
  ASSERT_NE(doc->sections[1].find("url"), nullptr);
  EXPECT_EQ(doc->sections[1].find("url")->value, "http://h/");
  EXPECT_EQ(doc->sections[2].header.name, "c");
  EXPECT_TRUE(doc->sections[2].entries.empty());
}

TEST(Conf, ShapeErrorsNameFileAndLine) {
  expect_error("[global\n", "h.conf:1: ", "closing ']'");
  expect_error("[global]\n[global]\n", "h.conf:2: ", "a second [global] section");
  expect_error("[subscription a]\n\n[subscription a]\n", "h.conf:3: ", "subscription 'a' is defined twice");
  expect_error("[channel a]\n", "h.conf:1: ", "expected [global] or [subscription NAME]");
  expect_error("[subscription]\n", "h.conf:1: ", "unknown section");
  expect_error("url = x\n", "h.conf:1: ", "before any [global] or [subscription NAME] section");
  expect_error("[global]\nwhat\n", "h.conf:2: ", "expected 'key = value', '[global]' or '[subscription NAME]'");
  expect_error("[global]\n= x\n", "h.conf:2: ", "a value without a key");
  expect_error("[global]\na = 1\na = 2\n", "h.conf:3: ", "'a' is set twice");
}

TEST(Conf, CallerErrorsGetTheLine) {
  ConfVisitor v;
  v.on_key = [](const ConfSection& s, const std::string& key, const std::string&, int) -> Status {
    if (s.kind == "subscription" && key == "bogus") return usage_error("unknown key 'bogus'");
    return {};
  };
  Status st = read_conf("[global]\nx = 1\n[subscription s]\nbogus = 1\n", "h.conf", kKinds, v);
  EXPECT_EQ(st.message(), "h.conf:4: unknown key 'bogus'");
  EXPECT_EQ(conf_error("f", 0, "m").message(), "f: m");
}

TEST(Conf, ValueHelpers) {
  EXPECT_TRUE(*parse_bool("yes"));
  EXPECT_FALSE(*parse_bool("off"));
  EXPECT_FALSE(parse_bool("maybe").is_ok());
  EXPECT_EQ(*parse_count("12"), 12);
  EXPECT_FALSE(parse_count("-1").is_ok());
  EXPECT_EQ(*parse_duration_ms("90"), 90000);
  EXPECT_EQ(*parse_size_bytes("1G"), 1LL << 30);
  auto w = split_words("a 'b c' d\\ e");
  ASSERT_TRUE(w.is_ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"a", "b c", "d e"}));
}
