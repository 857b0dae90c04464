#include "cli/network_flags.h"

namespace mcpvm::cli {

void add_network_flags(CLI::App& app, net::NetworkFlags& f) {
  app.add_option("-p,--publish", f.publish,
                 "Forward host port to guest port: [127.0.0.1:]HOST_PORT:GUEST_PORT");
  app.add_option("--permission-profile", f.permission_profile,
                 "ToolHive permission profile: none, network (default) or a JSON file");
  app.add_option("--allow-host", f.allow_host,
                 "Allow egress to this host (repeatable; *.example.com = subdomains)");
  app.add_option("--allow-port", f.allow_port, "Allow egress on this port to allowed hosts (repeatable)");
  app.add_option("--network", f.network, "\"none\": no network interface at all")
      ->check(CLI::IsMember({"none"}));
  app.add_option("--add-host", f.add_host, "Add NAME:IP to the guest's DNS and /etc/hosts (repeatable)");
  app.add_flag("--allow-host-loopback", f.allow_host_loopback,
               "Let the guest reach the host's 127.0.0.1 (as 10.0.2.2); denied by default");
  app.add_flag("--allow-private-network", f.allow_private_network,
               "Let the guest reach private networks (RFC 1918, 100.64/10) and the host's own addresses; "
               "denied by default in every mode");
}

}  // namespace mcpvm::cli
