// Registry sources: files, documents over http and the MCP Registry API from a real HTTP server on
// 127.0.0.1 (libcurl on the other end), and the configured-registries file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>

#include "loopback_server.h"
#include "registry/config.h"
#include "registry/source.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::registry {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// An HTTP/1.1 server answering each request with answer(target) -> {status, body}; records the targets.
class HttpFixture {
 public:
  explicit HttpFixture(std::function<std::pair<int, std::string>(const std::string&)> answer)
      : answer_(std::move(answer)), server_([this](UniqueFd fd) { serve(std::move(fd)); }) {}
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + path;
  }
  std::vector<std::string> targets() {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void serve(UniqueFd fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) return;
      request.append(buf, size_t(n));
    }
    std::string target = request.substr(request.find(' ') + 1);
    target = target.substr(0, target.find(' '));
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(target);
    }
    auto [status, body] = answer_(target);
    std::string response = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                           "Content-Length: " + std::to_string(body.size()) +
                           "\r\nConnection: close\r\n\r\n" + body;
    // The client may hang up early (the size cap): no SIGPIPE, no exception on this thread.
    for (size_t sent = 0; sent < response.size();) {
      ssize_t n = ::send(fd.get(), response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += size_t(n);
    }
  }

  std::function<std::pair<int, std::string>(const std::string&)> answer_;
  std::mutex mutex_;
  std::vector<std::string> targets_;
  test::LoopbackServer server_;
};

json server_json(const std::string& name, const std::string& image) {
  return {
      {"name", name},
      {"description", "the " + name + " server"},
      {"packages", {{{"registryType", "oci"}, {"identifier", image}, {"transport", {{"type", "stdio"}}}}}}};
}

TEST(Sources, SpellingsBecomeKinds) {
  EXPECT_EQ(parse_source("https://registry.example.invalid/", "/"),
            (RegistrySource{SourceKind::api, "https://registry.example.invalid"}));
  EXPECT_EQ(parse_source("http://127.0.0.1:8000/registry.json", "/").kind, SourceKind::url);
  EXPECT_EQ(parse_source("http://127.0.0.1:8000/registry.json?x=1", "/").kind, SourceKind::url);
  EXPECT_EQ(parse_source("regs/../my.json", "/home/me"),
            (RegistrySource{SourceKind::file, "/home/me/my.json"}));
  EXPECT_NE(error_of([] { parse_source("ftp://x/y.json", "/"); }).find("only http:// and https://"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_source("", "/"); }).find("an empty registry source"), std::string::npos);
  EXPECT_NE(error_of([] { parse_source("http://x/a b", "/"); }).find("not a URL"), std::string::npos);
}

TEST(Sources, AFileSourceReadsAnyFormatAndNamesTheFileInErrors) {
  TempDir dir;
  write_file_atomic(dir.path() / "r.json", json({{"servers", {{"fetch", {{"image", "x/fetch:1"}}}}}}).dump());
  Catalog c = fetch_catalog({SourceKind::file, (dir.path() / "r.json").string()});
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].source, (dir.path() / "r.json").string());
  std::string missing = (dir.path() / "none.json").string();
  EXPECT_NE(error_of([&] {
              fetch_catalog({SourceKind::file, missing});
            }).find("registry " + missing),
            std::string::npos);
}

TEST(Sources, ADocumentOverHttp) {
  HttpFixture http([](const std::string& target) -> std::pair<int, std::string> {
    if (target == "/registry.json")
      return {200, json({{"servers", {{"fetch", {{"image", "x/fetch:1"}, {"description", "web"}}}}}}).dump()};
    return {404, "{}"};
  });
  Catalog c = fetch_catalog(parse_source(http.url("/registry.json"), "/"));
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].source, http.url("/registry.json"));
  EXPECT_EQ(error_of([&] { fetch_catalog(parse_source(http.url("/gone.json"), "/")); }),
            "GET " + http.url("/gone.json") + ": HTTP 404");
}

TEST(Sources, AnOversizedBodyIsCutOffNotBuffered) {
  HttpFixture http([](const std::string&) -> std::pair<int, std::string> {
    return {200, std::string(4096, ' ')};
  });
  EXPECT_EQ(error_of([&] { http_get(http.url("/big.json"), 1000); }),
            "GET " + http.url("/big.json") + ": larger than 1000 bytes");
}

// One page of GET /v0.1/servers.
std::string api_page(const json& server, const std::string& next_cursor) {
  json page;
  page["servers"] = json::array();
  page["servers"].push_back(json{{"server", server}, {"_meta", json::object()}});
  page["metadata"] = json::object();
  if (!next_cursor.empty()) page["metadata"]["nextCursor"] = next_cursor;
  return page.dump();
}

TEST(Sources, TheMcpRegistryApiPagesSearchesAndLooksUpByName) {
  HttpFixture http([](const std::string& target) -> std::pair<int, std::string> {
    if (target.starts_with("/v0.1/servers?") && target.find("cursor=p2") == std::string::npos)
      return {200, api_page(server_json("io.example/fetch", "x/fetch:1"), "p2")};
    if (target.starts_with("/v0.1/servers?"))
      return {200, api_page(server_json("io.example/time", "x/time:1"), "")};
    if (target == "/v0.1/servers/io.example%2Ffetch/versions/latest") {
      json one;
      one["server"] = server_json("io.example/fetch", "x/fetch:2");
      return {200, one.dump()};
    }
    return {404, R"({"title":"Not Found"})"};
  });
  RegistrySource api = parse_source(http.url(""), "/");
  ASSERT_EQ(api.kind, SourceKind::api);
  Catalog all = fetch_catalog(api, {"fe", "fetch"});
  ASSERT_EQ(all.entries.size(), 2u);  // two pages
  auto targets = http.targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], "/v0.1/servers?version=latest&limit=100&search=fetch");
  EXPECT_EQ(targets[1], "/v0.1/servers?version=latest&limit=100&search=fetch&cursor=p2");
  Catalog one = fetch_for_name(api, "io.example/fetch");
  ASSERT_EQ(one.entries.size(), 1u);
  EXPECT_EQ(one.entries[0].image, "x/fetch:2");
  EXPECT_TRUE(fetch_for_name(api, "io.example/none").entries.empty());  // 404: not there, not an error
  EXPECT_NE(error_of([&] { fetch_for_name(api, "../../admin"); }).find("server name"), std::string::npos);
}

TEST(Config, AddListRemoveRoundTripsAtomicallyWith0600) {
  TempDir home;
  RegistryConfig config = load_registry_config(home.path());
  EXPECT_TRUE(config.registries.empty());
  EXPECT_TRUE(add_registry(config, {SourceKind::file, "/a.json"}));
  EXPECT_FALSE(add_registry(config, {SourceKind::file, "/a.json"}));
  EXPECT_TRUE(add_registry(config, {SourceKind::api, "https://r.invalid"}));
  save_registry_config(home.path(), config);
  struct stat st {};
  ASSERT_EQ(::stat(registry_config_path(home.path()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RegistryConfig back = load_registry_config(home.path());
  ASSERT_EQ(back.registries.size(), 2u);
  EXPECT_EQ(back.registries[1], (RegistrySource{SourceKind::api, "https://r.invalid"}));
  EXPECT_EQ(remove_registry(back, "1").location, "/a.json");
  EXPECT_NE(error_of([&] { remove_registry(back, "/a.json"); }).find("configured: https://r.invalid"),
            std::string::npos);
}

TEST(Config, AFileWeDidNotWriteIsRefusedNamingTheKey) {
  TempDir home;
  write_file_atomic(registry_config_path(home.path()),
                    R"({"schema_version": 1, "registries": [{"kind": "file"}]})");
  EXPECT_NE(error_of([&] { load_registry_config(home.path()); }).find("registries[].location: missing"),
            std::string::npos);
  write_file_atomic(registry_config_path(home.path()), R"({"schema_version": 9, "registries": []})");
  EXPECT_NE(error_of([&] { load_registry_config(home.path()); }).find("schema_version 9"), std::string::npos);
}

}  // namespace
}  // namespace mcpvm::registry
