// Appended kernel module signatures (scripts/sign-file in the kernel tree): the module's ELF image,
// then the PKCS#7 signature, a 12-byte `struct module_signature` whose last field is the signature's
// big-endian length, and the magic "~Module signature appended~\n".
//
// Why the init cares: a kernel that does not enforce signatures (Debian's without Secure Boot) still
// verifies a signature it finds, a SHA-256 + RSA pass over the whole module that costs 5-10 ms per
// module under TCG and buys nothing, since an unsigned module would load all the same. Handing the
// kernel the image without its signature skips that work.
#pragma once

#include <cstddef>
#include <string_view>

namespace mcpvm::guest {

// The length of `module` without a well-formed appended signature; module.size() when it has none
// or the trailer does not add up (the kernel then judges the bytes as they are).
std::size_t unsigned_module_size(std::string_view module);

}  // namespace mcpvm::guest
