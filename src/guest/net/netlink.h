// Just enough rtnetlink to bring an interface up and give it an address and a default route.
#pragma once

#include "guest/net/dhcp_message.h"

namespace mcpvm::guest::net {

void set_link_up(int ifindex);
// Adds (or replaces) addr/prefix on the interface.
void add_address(int ifindex, Ipv4 address, int prefix);
// Adds (or replaces) the default route via gateway.
void set_default_route(int ifindex, Ipv4 gateway);

}  // namespace mcpvm::guest::net
