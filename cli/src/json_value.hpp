#pragma once
// JSON text <-> wire::value, for `brood call`. The mapping:
//   null, true/false, integers, floats, strings, arrays   <-> the same value
//   object                      <-> map with string keys, in the object's order
//   {"$binary": "<base64>"}     <-> binary (msgpack bin)
//   {"$ext": T, "data": "<hex>"} <-> extension of type T (-128..127)
//   {"$map": [[k, v], ...]}     <-> map with a key that is not a string
// Strings that are not valid UTF-8 are written with U+FFFD in place of the bad bytes.
#include <optional>
#include <string>
#include <string_view>

#include "brood/wire/value.hpp"

namespace brood::cli {

// Compact JSON text of `v` (one line).
std::string value_to_json(const wire::value& v);

// Either the value or an error message saying what is wrong and where.
struct json_result {
  std::optional<wire::value> value;
  std::string error;
};
json_result value_from_json(std::string_view text);

}  // namespace brood::cli
