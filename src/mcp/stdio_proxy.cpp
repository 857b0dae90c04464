#include "mcp/stdio_proxy.h"

#include <utility>  // Boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>

#include "mcp/upstream_link.h"
#include "util/log.h"

namespace mcpvm::mcp {

namespace {

// Counts client requests still waiting for an answer, so stdin's end does not cut them off.
class Proxy {
 public:
  Proxy(boost::asio::io_context& io, const StdioProxyOptions& o) : io_(io), drain_(io) {
    bool sse = o.legacy_sse || o.url.find("/sse") != std::string::npos;
    HttpUpstream target =
        parse_http_url(o.url, sse ? HttpUpstream::Transport::sse : HttpUpstream::Transport::streamable_http);
    target.bearer_token = o.bearer_token;
    http_ = make_http_link(io, target, 64u << 20, from_http_);
    stdio_ = make_stdio_link(io, StdioUpstream{o.in_fd, o.out_fd}, 64u << 20, from_stdio_);
  }

  int run() {
    http_->start();
    stdio_->start();
    io_.run();
    return exit_code_;
  }

 private:
  struct FromStdio : MessagePeer {
    Proxy* p;
    explicit FromStdio(Proxy* proxy) : p(proxy) {}
    void on_message(json m) override {
      if (classify(m) == MessageKind::request) ++p->open_;
      p->http_->send(m);
    }
    void on_junk(std::string_view line, std::string_view why) override {
      log::warn("proxy: ignoring a stdin line ({}, {} bytes)", why, line.size());
      p->stdio_->send(make_error(nullptr, rpc::kParseError, "Parse error"));
    }
    void on_closed(const std::string&) override {
      p->stdin_closed_ = true;
      p->maybe_finish();
    }
  };
  struct FromHttp : MessagePeer {
    Proxy* p;
    explicit FromHttp(Proxy* proxy) : p(proxy) {}
    void on_message(json m) override {
      if (classify(m) == MessageKind::response && p->open_ > 0) --p->open_;
      p->stdio_->send(m);
      p->maybe_finish();
    }
    void on_junk(std::string_view line, std::string_view why) override {
      log::warn("proxy: dropping what the endpoint sent ({}, {} bytes)", why, line.size());
    }
    void on_closed(const std::string& reason) override {
      log::error("proxy: {}", reason);
      p->exit_code_ = 1;
      p->finish();
    }
  };

  void maybe_finish() {
    if (stdin_closed_ && open_ == 0) finish();
  }
  // Lets the last writes to stdout go out before the loop stops.
  void finish() {
    drain_.expires_after(std::chrono::milliseconds(50));
    drain_.async_wait([this](const boost::system::error_code&) {
      http_->stop();
      stdio_->stop();
      io_.stop();
    });
  }

  boost::asio::io_context& io_;
  boost::asio::steady_timer drain_;
  FromStdio from_stdio_{this};
  FromHttp from_http_{this};
  std::unique_ptr<UpstreamLink> http_;
  std::unique_ptr<UpstreamLink> stdio_;
  size_t open_ = 0;
  bool stdin_closed_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_stdio_proxy(const StdioProxyOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io{1};
  Proxy proxy(io, options);
  return proxy.run();
}

}  // namespace mcpvm::mcp
