// ControlServer: serves the runner's control socket (control.h) with one thread per connection, bounded
// and cleaned up: at most kMaxControlConnections are served at once (a connection beyond that is answered
// {"ok":false,"error":"busy..."} and closed), each connection's fd is owned by its thread and closed when
// the handler returns, and finished threads are joined by the accept loop. So neither a burst of `exec`s
// nor a local process opening connections in a loop can grow the runner's fds or threads.
//
// Thread-safety: the constructor starts the accept thread; the handler runs on connection threads and
// must be thread-safe. stop() (or destruction) closes the listener, shuts every open connection down
// (their handlers see EOF) and joins all threads.
#pragma once

#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "runner/control.h"
#include "util/fd.h"

namespace mcpvm::runner {

// exec sessions are the long-lived connections; 32 concurrent ones is far beyond interactive use.
inline constexpr size_t kMaxControlConnections = 32;

class ControlServer {
 public:
  // Gets the connection (its first line not yet read). Exceptions it throws are caught and answered.
  using Handler = std::function<void(ControlChannel&)>;

  ControlServer(UniqueFd listener, Handler handler, size_t max_connections = kMaxControlConnections);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  void stop();

 private:
  struct Connection {
    int fd = -1;  // owned by the connection's ControlChannel; shut down (not closed) by stop()
    bool done = false;
    std::thread thread;
  };

  void accept_loop();
  void serve(Connection& c, UniqueFd fd);
  void join_finished();  // under mu_

  UniqueFd listener_;
  UniqueFd wake_read_, wake_write_;  // closing wake_write_ ends accept_loop()
  Handler handler_;
  size_t max_connections_;
  std::mutex mu_;
  std::list<Connection> connections_;  // guarded by mu_ (list: stable addresses for the threads)
  std::thread acceptor_;
};

}  // namespace mcpvm::runner
