#include "guest/users.h"

#include <algorithm>
#include <charconv>

namespace mcpvm::guest {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    fn(line);
  }
}

}  // namespace

std::optional<uint32_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v == UINT32_MAX) return std::nullopt;
  return v;
}

std::vector<PasswdEntry> parse_passwd(std::string_view text) {
  std::vector<PasswdEntry> out;
  for_each_line(text, [&](std::string_view line) {
    auto f = split(line, ':');
    if (f.size() < 7 || f[0].empty()) return;
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (!uid || !gid) return;
    out.push_back({std::string(f[0]), *uid, *gid, std::string(f[5])});
  });
  return out;
}

std::vector<GroupEntry> parse_group(std::string_view text) {
  std::vector<GroupEntry> out;
  for_each_line(text, [&](std::string_view line) {
    auto f = split(line, ':');
    if (f.size() < 4 || f[0].empty()) return;
    auto gid = parse_id(f[2]);
    if (!gid) return;
    GroupEntry g{std::string(f[0]), *gid, {}};
    for (auto m : split(f[3], ','))
      if (!m.empty()) g.members.emplace_back(m);
    out.push_back(std::move(g));
  });
  return out;
}

ResolvedUser resolve_user(std::string_view spec, const std::vector<PasswdEntry>& passwd,
                          const std::vector<GroupEntry>& groups) {
  std::string_view user_part = spec.substr(0, spec.find(':'));
  std::optional<std::string_view> group_part;
  if (auto colon = spec.find(':'); colon != std::string_view::npos) group_part = spec.substr(colon + 1);
  if (user_part.empty()) user_part = "0";

  ResolvedUser r;
  const PasswdEntry* entry = nullptr;
  if (auto uid = parse_id(user_part)) {
    r.uid = *uid;
    auto it = std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& p) { return p.uid == *uid; });
    if (it != passwd.end()) entry = &*it;
  } else {
    auto it =
        std::find_if(passwd.begin(), passwd.end(), [&](const PasswdEntry& p) { return p.name == user_part; });
    if (it == passwd.end())
      throw UserError("unable to find user " + std::string(user_part) + " in the image's /etc/passwd");
    entry = &*it;
    r.uid = entry->uid;
  }
  if (entry) {
    r.gid = entry->gid;
    r.home = entry->home.empty() ? "/" : entry->home;
    r.name = entry->name;
  }

  if (group_part && !group_part->empty()) {
    if (auto gid = parse_id(*group_part)) {
      r.gid = *gid;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const GroupEntry& g) { return g.name == *group_part; });
      if (it == groups.end())
        throw UserError("unable to find group " + std::string(*group_part) + " in the image's /etc/group");
      r.gid = it->gid;
    }
    r.groups = {r.gid};
    return r;
  }
  r.groups = {r.gid};
  if (!r.name.empty()) {
    for (const auto& g : groups) {
      bool member = std::find(g.members.begin(), g.members.end(), r.name) != g.members.end();
      if (member && std::find(r.groups.begin(), r.groups.end(), g.gid) == r.groups.end())
        r.groups.push_back(g.gid);
    }
  }
  return r;
}

}  // namespace mcpvm::guest
