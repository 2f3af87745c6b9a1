// libFuzzer target: the safetensors header parser on arbitrary bytes.
#include <cstdint>
#include <span>

#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = seekd::model::SafetensorsFile::FromBytes(std::span<const uint8_t>(data, size));
  if (!f.ok()) return 0;
  for (const auto& t : f->tensors()) {
    auto bytes = f->TensorData(t);
    if (bytes.data() < data || bytes.data() + bytes.size() > data + size) __builtin_trap();
  }
  return 0;
}
