// Strict reading of JSON objects that cross a process boundary (config.json, state.json, control
// requests): a missing required key, a key of the wrong type and a key nobody reads are all errors that
// name the key by its path ("network.egress.mode: expected a string").
//
//   JsonFields f(j, "network");                 // throws unless j is an object
//   bool on = f.get<bool>("enabled", true);     // optional with a default
//   auto mode = f.required<std::string>("mode");
//   JsonFields egress = f.object("egress");     // nested, path "network.egress"
//   f.finish();                                 // throws on the first key not read
//
// Not thread-safe; a JsonFields must not outlive the json it reads.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "util/error.h"

namespace mcpvm {

class JsonFields {
 public:
  // path: where this object sits in the document ("" for the root), for messages.
  JsonFields(const nlohmann::json& object, std::string path) : j_(object), path_(std::move(path)) {
    if (!j_.is_object()) fail("{}: expected an object", path_.empty() ? "the document" : path_);
  }

  bool has(std::string_view key) const { return j_.contains(key) && !j_.at(std::string(key)).is_null(); }

  template <typename T>
  T get(std::string_view key, T fallback) {
    if (!has(key)) {
      seen_.emplace(key);
      return fallback;
    }
    return required<T>(key);
  }

  template <typename T>
  T required(std::string_view key) {
    seen_.emplace(key);
    if (!has(key)) fail("{}: missing", key_path(key));
    const nlohmann::json& v = j_.at(std::string(key));
    check_type<T>(v, key);
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      fail("{}: {}", key_path(key), expected<T>());
    }
  }

  // A nested object, read strictly in turn (call finish() on it too).
  JsonFields object(std::string_view key) {
    seen_.emplace(key);
    if (!has(key)) fail("{}: missing", key_path(key));
    return JsonFields(j_.at(std::string(key)), key_path(key));
  }

  // An array (of objects, say, each read with its own JsonFields); empty when absent.
  const nlohmann::json& array(std::string_view key) {
    seen_.emplace(key);
    static const nlohmann::json kEmpty = nlohmann::json::array();
    if (!has(key)) return kEmpty;
    const nlohmann::json& v = j_.at(std::string(key));
    if (!v.is_array()) fail("{}: expected an array", key_path(key));
    return v;
  }

  // The value as it is (a nested object read elsewhere); null when absent.
  const nlohmann::json& raw(std::string_view key) {
    seen_.emplace(key);
    static const nlohmann::json kNull;
    return has(key) ? j_.at(std::string(key)) : kNull;
  }

  std::string key_path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  // Fails on the first key that no get/required/object/raw call asked for.
  void finish() const {
    for (const auto& [key, value] : j_.items())
      if (!seen_.contains(key)) fail("{}: unknown key", key_path(key));
  }

 private:
  // nlohmann converts numbers to bool and floats to ints silently; a config must not.
  template <typename T>
  void check_type(const nlohmann::json& v, std::string_view key) const {
    bool ok = true;
    if constexpr (std::is_same_v<T, bool>) {
      ok = v.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
      ok = fits<T>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      ok = v.is_number();
    } else if constexpr (std::is_same_v<T, std::string>) {
      ok = v.is_string();
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      ok = v.is_array() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_string(); });
    }
    if (!ok) fail("{}: {}", key_path(key), expected<T>());
  }

  // Whether an integer JSON value is representable as T (no float, no wrap-around).
  template <typename T>
  static bool fits(const nlohmann::json& v) {
    if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max());
    if (!v.is_number_integer()) return false;
    int64_t i = v.get<int64_t>();
    if (i < 0) return std::is_signed_v<T> && i >= int64_t(std::numeric_limits<T>::min());
    return uint64_t(i) <= uint64_t(std::numeric_limits<T>::max());
  }

  template <typename T>
  static const char* expected() {
    if constexpr (std::is_same_v<T, bool>) return "expected true or false";
    if constexpr (std::is_integral_v<T>) return "expected an integer in range";
    if constexpr (std::is_floating_point_v<T>) return "expected a number";
    if constexpr (std::is_same_v<T, std::string>) return "expected a string";
    if constexpr (std::is_same_v<T, std::vector<std::string>>) return "expected an array of strings";
    return "has the wrong type";
  }

  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace mcpvm
