// seekd make-model --out PATH --tokenizer PATH [...]: a small random model written the way
// llama.cpp writes GGUF files, with a real tokenizer and chat template. The bundled default
// model is made with it.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "loader/loader.h"
#include "model/tiny_model.h"

namespace seekd::cli {
namespace {

struct Options {
  std::string out, tokenizer;
  model::TinyModelSpec spec;
  uint64_t vocab = 0;
};

int Run(Options o) {
  auto vocab = loader::LoadVocabSpec(o.tokenizer);
  if (!vocab.ok()) {
    std::cerr << "seekd make-model: " << vocab.status().ToString() << "\n";
    return 1;
  }
  // The GGUF way: a named pre-tokenizer. Keep explicit regexes only when no name fits.
  if (vocab->pre.empty() && !vocab->pre_split_regexes.empty()) vocab->pre = "deepseek-v3";
  if (auto t = tok::Tokenizer::Create(*vocab); !t.ok()) {
    std::cerr << "seekd make-model: the tokenizer does not load: " << t.status().ToString() << "\n";
    return 1;
  }
  // Real checkpoints pad the embedding (Qwen2.5: 151,936 rows for 151,665 tokens); the GGUF
  // vocabulary is padded to match with unused [PADn] tokens, as llama.cpp's converter does.
  if (o.vocab > vocab->tokens.size()) {
    if (vocab->token_types.empty()) vocab->token_types.assign(vocab->tokens.size(), 1);
    for (uint64_t i = vocab->tokens.size(); i < o.vocab; ++i) {
      vocab->tokens.push_back("[PAD" + std::to_string(i) + "]");
      vocab->token_types.push_back(static_cast<int32_t>(tok::kTokenUnused));
    }
  }
  o.spec.n_vocab = vocab->tokens.size();
  model::GgufWriter w;
  if (Status st = model::WriteTinyModel(o.spec, &w); !st.ok()) {
    std::cerr << "seekd make-model: " << st.ToString() << "\n";
    return 1;
  }
  loader::AddVocabToGguf(*vocab, &w);
  auto tmpl = loader::LoadChatTemplate(o.tokenizer);
  if (tmpl.ok() && !tmpl->jinja.empty())
    w.Set("tokenizer.chat_template", model::GgufValue::String(tmpl->jinja));
  if (Status st = w.Write(o.out); !st.ok()) {
    std::cerr << "seekd make-model: " << st.ToString() << "\n";
    return 1;
  }
  std::cerr << "seekd make-model: wrote " << o.out << "\n";
  return 0;
}

CommandRegistrar reg("make-model", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "make-model", "Write a small random model (GGUF, llama.cpp layout) with a real tokenizer");
  c->add_option("--out,-o", o->out, "output .gguf path")->required();
  c->add_option("--tokenizer,-t", o->tokenizer,
                "tokenizer source: GGUF, model folder or tokenizer.json")
      ->required();
  c->add_option("--arch", o->spec.arch, "llama | qwen2 | deepseek2")->capture_default_str();
  c->add_option("--name", o->spec.name, "general.name")->capture_default_str();
  c->add_option("--weights", o->spec.weights, "q4_k_m | q4_0 | q8_0 | f16 | bf16 | f32")
      ->capture_default_str();
  c->add_option("--layers", o->spec.n_layer, "block count")->capture_default_str();
  c->add_option("--embd", o->spec.n_embd, "embedding width (multiple of 256 for K types)")
      ->capture_default_str();
  c->add_option("--ff", o->spec.n_ff, "feed-forward width")->capture_default_str();
  c->add_option("--heads", o->spec.n_head, "attention heads")->capture_default_str();
  c->add_option("--kv-heads", o->spec.n_head_kv, "key/value heads")->capture_default_str();
  c->add_option("--seed", o->spec.seed, "weight seed")->capture_default_str();
  c->add_flag("--tied", o->spec.tied_embeddings, "tie the output to token_embd");
  c->add_option("--vocab", o->vocab, "pad the vocabulary to this many tokens");
  c->add_option("--ctx", o->spec.n_ctx, "training context length")->capture_default_str();
  c->add_option("--rope-theta", o->spec.rope_theta, "RoPE base")->capture_default_str();
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
