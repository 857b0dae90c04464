// The loop of the lifecycle commands that take several VM names (start, stop, restart, rm), as docker
// does it: every name is tried; a failure prints "mcpvm: <doing> NAME: <why>" and the next name goes on;
// the exit status is 1 when any failed.
#pragma once

#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "util/error.h"

namespace mcpvm::cli {

// doing: the verb for messages ("stopping"); action: does the work for one name, printing its own output.
inline int for_each_vm(const std::vector<std::string>& names, const char* doing,
                       const std::function<void(const std::string&)>& action) {
  int failures = 0;
  for (const auto& name : names) {
    try {
      action(name);
    } catch (const Error& e) {
      std::cerr << "mcpvm: " << doing << " " << name << ": " << e.what() << "\n";
      ++failures;
    }
  }
  return failures ? 1 : 0;
}

}  // namespace mcpvm::cli
