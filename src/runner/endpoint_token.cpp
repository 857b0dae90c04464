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

std::string load_or_create_endpoint_token(const VmDir& dir) {
  try {
    if (auto token = read_endpoint_token(dir)) return *token;
  } catch (const Error&) {  // damaged: replaced below, as if it were missing
  }
  std::string token = mcp::new_bearer_token();
  with_context("saving the endpoint token",
               [&] { write_file_atomic(dir.endpoint_token_file(), token + "\n"); });
  return token;
}

}  // namespace mcpvm::runner
