#include <gtest/gtest.h>

#include "crypto/crypto.h"

using namespace sigma::crypto;

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Base64urlRoundTripAndAlphabet) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += char(i);
  std::string enc = base64url_encode(all);
  EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
  auto dec = base64url_decode(enc);
  ASSERT_TRUE(dec.is_ok());
  EXPECT_EQ(dec.value(), all);
  EXPECT_FALSE(base64url_decode("ab+c").is_ok());
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Crypto, RandomBytesDifferAndConstantTimeEqual) {
  std::string a = random_bytes(32), b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
}
