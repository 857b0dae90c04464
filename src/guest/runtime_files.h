// The files every container runtime provides, whatever the image holds: an image built FROM scratch
// (one static binary) has no /etc at all, yet the network setup writes /etc/resolv.conf and /etc/hosts
// and programs expect /etc/hostname and a sticky, world-writable /tmp. Docker bind-mounts these; we
// create the missing ones in the overlay's writable layer (the image itself stays untouched).
#pragma once

#include <string>

namespace mcpvm::guest {

// /etc/hosts when the image has none: docker's loopback lines (the network setup rewrites it later).
inline constexpr const char* kDefaultHosts =
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

// Creates below `root` what is missing of /etc (0755), /etc/hosts, /etc/resolv.conf (empty),
// /etc/hostname (`hostname`) (0644 files) and /tmp (1777). Anything the image has is left alone, even a
// dangling symlink (the network setup replaces those atomically). Throws std::runtime_error("creating
// /etc/hosts: <reason>").
void provide_runtime_files(const std::string& root, const std::string& hostname);

}  // namespace mcpvm::guest
