#include "cli/run_image.h"

#include <unistd.h>

#include <iostream>

#include "oci/pull.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

bool is_loopback_domain(std::string_view domain) {
  std::string_view host = domain.substr(0, domain.starts_with('[') ? domain.find(']') + 1 : domain.find(':'));
  return host == "localhost" || host == "[::1]" || host.starts_with("127.");
}

// A digest or a hex prefix names what is stored; there is nothing to pull by it alone.
bool names_stored_content(std::string_view text) {
  if (text.starts_with("sha256:")) return true;
  return text.size() >= 12 && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool in_store(const oci::Store& store, std::string_view reference) {
  try {
    store.resolve(reference);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

PullPolicy parse_pull_policy(std::string_view text) {
  if (text == "missing") return PullPolicy::missing;
  if (text == "always") return PullPolicy::always;
  if (text == "never") return PullPolicy::never;
  fail("--pull {:?}: expected missing, always or never", text);
}

bool is_image_reference(std::string_view text) {
  if (text.find_first_of(":@") != std::string_view::npos) return true;
  auto home = mcpvm_home();
  return std::filesystem::exists(home) && in_store(oci::Store(home), text);
}

oci::Image ensure_image(const std::string& reference, PullPolicy policy) {
  oci::Store store(ensure_mcpvm_home());
  if (policy == PullPolicy::never || names_stored_content(reference)) {
    if (policy == PullPolicy::never && !in_store(store, reference))
      fail(
          "image {} is not in the local store and --pull never was given: mcpvm pull {} (or import it) first",
          reference, reference);
    return store.resolve(reference);
  }
  if (policy == PullPolicy::missing && in_store(store, reference)) return store.resolve(reference);
  oci::Reference ref = oci::Reference::parse(reference);
  oci::PullOptions options;
  options.registry.tls_verify = !is_loopback_domain(ref.domain);
  options.progress = ::isatty(STDERR_FILENO);
  std::cerr << "pulling " << ref.str() << "\n";
  oci::pull(store, reference, options);
  return store.resolve(reference);
}

}  // namespace mcpvm::cli
