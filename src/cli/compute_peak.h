// Which of the machine's measured peak rates a model's matrix products run against: the one of
// the instruction that multiplies its main weight type (int8 dot products for quantized
// weights, bf16 pairs where BF16 weights are packed for vdpbf16ps, f32 FMA otherwise). Shared by
// bench-model (prefill) and bench-engine (steady decode).
#pragma once

#include "core/dtype.h"
#include "core/kernels/kernels.h"
#include "core/machine_probe.h"
#include "model/llm.h"

namespace seekd::cli {

// The type that holds most of the streamed weight bytes.
DType MainWeightType(const model::Llm& llm);

struct ComputePeak {
  double flops = 0;              // 2 · multiply-adds per second
  const char* instruction = "";  // "int8 dot products", "bf16 dot products" or "f32 FMA"
  bool int8 = false, bf16 = false, packed = false;
};
ComputePeak PeakForModel(const model::Llm& llm, const kernels::Kernels& k, const PeakRates& p);

}  // namespace seekd::cli
