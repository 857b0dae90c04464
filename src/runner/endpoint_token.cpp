#include "runner/endpoint_token.h"

#include <system_error>

#include "mcp/bearer_auth.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::runner {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::optional<std::string> read_endpoint_token(const VmDir& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir.endpoint_token_file(), ec)) return std::nullopt;
  std::string token = trimmed(read_file(dir.endpoint_token_file(), 4096));
  if (!mcp::is_valid_bearer_token(token))
    fail("{} does not hold an endpoint token (stop the VM and remove the file to get a new one)",
         dir.endpoint_token_file().string());
  return token;
}

void publish_endpoint_token(const VmDir& dir, const std::string& token) {
  with_context("saving the endpoint token",
               [&] { write_file_atomic(dir.endpoint_token_file(), token + "\n"); });
}

}  // namespace mcpvm::runner
