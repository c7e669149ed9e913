#include <gtest/gtest.h>

#include "transcode/rung_encoder.h"

namespace sigma::transcode {
namespace {

TEST(X264Params, AcceptsKeyValuePairs) {
  EXPECT_TRUE(check_x264_params("").is_ok());
  EXPECT_TRUE(check_x264_params("subme=2").is_ok());
  EXPECT_TRUE(check_x264_params("subme=3:me=umh:aq-mode=2").is_ok());
}

TEST(X264Params, RefusesMalformedPairs) {
  for (const char* bad : {"subme", "subme=", "=2", "subme=2:", ":subme=2", "subme=2::me=dia"}) {
    Status st = check_x264_params(bad);
    EXPECT_EQ(st.code(), ExitCode::kUsage) << bad;
    EXPECT_NE(st.message().find("key=value"), std::string::npos) << st.message();
  }
}

TEST(X264Params, RefusesWhatSigmaControls) {
  // Keyframe alignment and the ladder's rates are not the user's to undo.
  for (const char* key : {"keyint=30", "scenecut=40", "open-gop=1", "vbv-maxrate=9000", "subme=2:crf=20"}) {
    Status st = check_x264_params(key);
    EXPECT_EQ(st.code(), ExitCode::kUsage) << key;
    EXPECT_NE(st.message().find("Sigma's to set"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace sigma::transcode
