#include "cli/compute_peak.h"

#include <algorithm>
#include <map>

namespace seekd::cli {

DType MainWeightType(const model::Llm& llm) {
  std::map<DType, uint64_t> bytes;
  auto add = [&](const MatrixView& m) { bytes[m.dtype] += m.row_bytes * m.n_rows; };
  for (const auto& l : llm.weights().layers)
    for (const MatrixView* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) add(*m);
  add(llm.weights().output);
  return std::max_element(bytes.begin(), bytes.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; })
      ->first;
}

ComputePeak PeakForModel(const model::Llm& llm, const kernels::Kernels& k, const PeakRates& p) {
  ComputePeak c;
  const DType main_type = MainWeightType(llm);
  c.int8 = kernels::ActFormatOf(main_type) != kernels::ActFormat::kF32;
  c.packed = llm.weights().layers[0].w_up.packed != nullptr;
  c.bf16 = c.packed && k.packed[static_cast<int>(main_type)].act == kernels::ActFormat::kBF16;
  c.flops = 2 * (c.int8 ? p.int8_macs_per_s : c.bf16 ? p.bf16_macs_per_s : p.f32_macs_per_s);
  c.instruction = c.int8 ? "int8 dot products" : c.bf16 ? "bf16 dot products" : "f32 FMA";
  return c;
}

}  // namespace seekd::cli
