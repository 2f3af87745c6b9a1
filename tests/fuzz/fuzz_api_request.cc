// libFuzzer target: request bodies as the HTTP server receives them. Parsing never crashes;
// whatever is accepted serializes back, and every error has the API's shape.
#include <cstdint>
#include <string_view>

#include "api/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace seekd::api;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto parsed = ParseBody(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) {
    if (e->status != 400 || e->Body().empty()) __builtin_trap();
    return 0;
  }
  const auto& j = std::get<nlohmann::ordered_json>(parsed);
  auto completion = ParseCompletionRequest(j, "m");
  if (auto* e = std::get_if<ApiError>(&completion); e && e->status != 400 && e->status != 422)
    __builtin_trap();
  auto chat = ParseChatRequest(j, "m");
  if (auto* e = std::get_if<ApiError>(&chat)) {
    if (e->status != 400 && e->status != 422) __builtin_trap();
    (void)e->Body();
  } else {
    (void)std::get<ChatRequest>(chat).messages.dump();
  }
  return 0;
}
