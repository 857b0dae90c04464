// `mcpvm pull REF`: fetch an image from a registry into the store.
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "oci/auth.h"
#include "oci/pull.h"
#include "util/error.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct PullArgs {
  std::string ref;
  std::string platform = "linux/amd64";
  std::string tls_verify = "true";
  std::string creds;
  int parallel = 4;
  bool quiet = false;
};

std::atomic<bool> g_interrupted{false};

// Ctrl-C / SIGTERM stop the transfers so every temp file is removed on the way out (exit 130).
void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted = true; };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int run_pull(const PullArgs& a) {
  oci::PullOptions o;
  o.platform = oci::Platform::parse(a.platform);
  if (a.tls_verify != "true" && a.tls_verify != "false") fail("--tls-verify must be true or false");
  o.registry.tls_verify = a.tls_verify == "true";
  if (!a.creds.empty()) o.registry.credentials = oci::parse_creds(a.creds);
  o.parallel = a.parallel;
  o.quiet = a.quiet;
  o.progress = !a.quiet && ::isatty(STDERR_FILENO);
  o.registry.cancel = &g_interrupted;
  catch_interrupts();
  oci::Store store(mcpvm_home());
  oci::Image image;
  try {
    image = oci::pull(store, a.ref, o);
  } catch (const Error& e) {
    if (!g_interrupted) throw;
    std::fprintf(stderr, "mcpvm: %s\n", e.what());
    return 130;
  }
  std::cout << image.reference << " " << image.manifest_digest << "\n";
  return 0;
}

const Command kPull{"pull", "Pull an image from a registry into the local store", 20, [](CLI::App& app) {
                      auto a = std::make_shared<PullArgs>();
                      app.add_option("ref", a->ref,
                                     "Image reference (busybox, host:port/repo:tag, repo@sha256:...)")
                          ->required();
                      app.add_option("--platform", a->platform, "os/arch[/variant] to choose from an index")
                          ->capture_default_str();
                      app.add_option("--tls-verify", a->tls_verify,
                                     "false: talk plain http (local registries) and skip certificate checks")
                          ->capture_default_str();
                      app.add_option("--creds", a->creds, "USER:PASSWORD for the registry");
                      app.add_option("--parallel", a->parallel, "Concurrent layer downloads")
                          ->capture_default_str()
                          ->check(CLI::Range(1, 16));
                      app.add_flag("-q,--quiet", a->quiet, "No progress output");
                      return [a] { return run_pull(*a); };
                    }};

}  // namespace
}  // namespace mcpvm::cli
