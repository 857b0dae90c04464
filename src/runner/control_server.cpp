#include "runner/control_server.h"

#include <poll.h>
#include <sys/socket.h>

#include "util/error.h"
#include "util/socket.h"

namespace mcpvm::runner {

ControlServer::ControlServer(UniqueFd listener, Handler handler, size_t max_connections)
    : listener_(std::move(listener)), handler_(std::move(handler)), max_connections_(max_connections) {
  std::tie(wake_read_, wake_write_) = stream_socketpair();
  acceptor_ = std::thread([this] { accept_loop(); });
}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::stop() {
  wake_write_.reset();
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock lock(mu_);
  for (auto& c : connections_)
    if (!c.done) ::shutdown(c.fd, SHUT_RDWR);
  std::list<Connection> all = std::move(connections_);
  lock.unlock();
  for (auto& c : all) c.thread.join();
}

void ControlServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) continue;
    std::lock_guard lock(mu_);
    join_finished();
    if (connections_.size() >= max_connections_) {
      try {
        ControlChannel(std::move(fd))
            .send({{"ok", false}, {"error", "the runner is busy: too many control connections"}});
      } catch (const Error&) {
      }
      continue;
    }
    Connection& c = connections_.emplace_back();
    c.fd = fd.get();
    c.thread = std::thread([this, &c, owned = std::move(fd)]() mutable { serve(c, std::move(owned)); });
  }
}

void ControlServer::serve(Connection& c, UniqueFd fd) {
  ControlChannel channel(std::move(fd));
  try {
    handler_(channel);
  } catch (const std::exception& e) {  // nothing may escape a connection thread
    try {
      channel.send({{"ok", false}, {"error", e.what()}});
    } catch (const std::exception&) {
    }
  }
  // Marked done before the channel closes its fd: stop() shuts down only connections not done, so it
  // never touches an fd number that was closed and reused meanwhile.
  std::lock_guard lock(mu_);
  c.done = true;
}

void ControlServer::join_finished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();  // done was its last step under mu_: joining here cannot deadlock
    it = connections_.erase(it);
  }
}

}  // namespace mcpvm::runner
