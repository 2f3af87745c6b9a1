// libFuzzer target: the GGUF parser on arbitrary bytes. Whatever parses must describe in-bounds
// tensors, and the model description and tokenizer keys must read without crashing.
#include <cstdint>
#include <span>

#include "model/gguf.h"
#include "model/model_desc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = seekd::model::GgufFile::FromBytes(std::span<const uint8_t>(data, size));
  if (!f.ok()) return 0;
  for (const auto& t : f->tensors()) {
    auto bytes = f->TensorData(t);
    if (bytes.data() < data || bytes.data() + bytes.size() > data + size) __builtin_trap();
  }
  for (const auto& [key, value] : f->metadata()) (void)value.ToString();
  (void)seekd::model::DescribeGguf(*f);
  return 0;
}
