#include "guest/module_signature.h"

#include <gtest/gtest.h>

#include <string>

namespace mcpvm::guest {
namespace {

const std::string kMagic = "~Module signature appended~\n";

// ELF bytes + signature + struct module_signature + magic, as the kernel's sign-file writes them.
std::string signed_module(const std::string& elf, std::size_t sig_len, unsigned char id_type = 2,
                          uint32_t claimed_len = UINT32_MAX) {
  uint32_t len = claimed_len == UINT32_MAX ? uint32_t(sig_len) : claimed_len;
  std::string info = {
      0, 0, char(id_type), 0, 0, 0, 0, 0, char(len >> 24), char(len >> 16), char(len >> 8), char(len)};
  return elf + std::string(sig_len, 'S') + info + kMagic;
}

TEST(GuestModuleSignature, StripsAWellFormedSignature) {
  std::string elf =
      "\x7f"
      "ELF module body";
  EXPECT_EQ(unsigned_module_size(signed_module(elf, 455)), elf.size());
  EXPECT_EQ(unsigned_module_size(signed_module(elf, 70000)), elf.size());  // length beyond 16 bits
}

TEST(GuestModuleSignature, UnsignedModuleIsUnchanged) {
  std::string elf(1000, 'x');
  EXPECT_EQ(unsigned_module_size(elf), elf.size());
  EXPECT_EQ(unsigned_module_size(""), 0u);
  EXPECT_EQ(unsigned_module_size(kMagic), kMagic.size());  // magic but no room for the info block
}

TEST(GuestModuleSignature, TrailerThatDoesNotAddUpIsLeftToTheKernel) {
  std::string elf = "ELF";
  // Claimed signature longer than the file: must not underflow.
  std::string too_long = signed_module(elf, 10, 2, 1000);
  EXPECT_EQ(unsigned_module_size(too_long), too_long.size());
  std::string huge = signed_module(elf, 10, 2, 0xffffffffu - 1);
  EXPECT_EQ(unsigned_module_size(huge), huge.size());
  // Zero-length signature, a non-PKCS#7 id type: not something the kernel would accept either.
  std::string empty = signed_module(elf, 0);
  EXPECT_EQ(unsigned_module_size(empty), empty.size());
  std::string x509 = signed_module(elf, 10, 1);
  EXPECT_EQ(unsigned_module_size(x509), x509.size());
  // A magic that is almost right.
  std::string almost = signed_module(elf, 10);
  almost.back() = '!';
  EXPECT_EQ(unsigned_module_size(almost), almost.size());
}

TEST(GuestModuleSignature, SignatureExactlyFillingTheFileLeavesNothing) {
  EXPECT_EQ(unsigned_module_size(signed_module("", 20)), 0u);
}

}  // namespace
}  // namespace mcpvm::guest
