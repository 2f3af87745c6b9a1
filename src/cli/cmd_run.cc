// seekd run --model PATH [-p PROMPT | --chat] [--system S] [--max-tokens N] [--temp T]
//           [--top-p P] [--top-k K] [--min-p P] [--seed S] [--greedy] [--threads N] [--ctx N]
//           [--quant q8_0|q4_k] [--json]
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

#include "chat/chat_template.h"
#include "chat/reasoning.h"
#include "cli/commands.h"
#include "cli/model_flags.h"
#include "engine/generator.h"
#include "loader/loader.h"
#include "model/llm.h"
#include "model/pack_cache.h"
#include "tokenizer/unicode.h"

namespace seekd::cli {
namespace {

struct Options {
  std::string model, prompt, system, template_name, quant, pack_cache;
  bool chat = false, json = false, greedy = false, quiet = false;
  int32_t max_tokens = 256, top_k = 0;
  float temp = 0.8f, top_p = 0.95f, min_p = 0.05f;
  uint64_t seed = 0;
  int threads = 0;
  int64_t ctx = 4096;
};

struct Loaded {
  std::unique_ptr<model::Llm> llm;
  std::optional<tok::Tokenizer> tok;
  std::optional<chat::TemplateId> tmpl;
  std::string bos, eos;
  double load_seconds = 0;
};

Result<Loaded> Load(const Options& o) {
  Loaded l;
  const auto start = std::chrono::steady_clock::now();
  model::LoadOptions lo;
  lo.pack_cache_dir = model::ResolvePackCacheDir(o.pack_cache);
  if (!o.quant.empty()) {
    const auto q = DTypeFromName(o.quant);
    if (!q || (*q != DType::kQ8_0 && *q != DType::kQ4_K && *q != DType::kQ4_0 &&
               *q != DType::kQ6_K && *q != DType::kF16))
      return InvalidArgument("--quant must be q8_0, q4_k, q4_0, q6_k or f16");
    lo.quant = *q;
  }
  const bool tty = isatty(2) != 0 && !o.quiet;
  if (tty)
    lo.progress = [](double f) {
      std::cerr << fmt::format("\rloading {:3.0f}%", f * 100) << std::flush;
    };
  SEEKD_ASSIGN_OR_RETURN(l.llm, model::LoadLlm(o.model, lo));
  if (tty) std::cerr << "\r";
  SEEKD_ASSIGN_OR_RETURN(tok::Tokenizer t, loader::LoadTokenizer(o.model));
  l.tok.emplace(std::move(t));
  if (o.chat) {
    SEEKD_ASSIGN_OR_RETURN(loader::ChatTemplateSource src, loader::LoadChatTemplate(o.model));
    if (!o.template_name.empty()) {
      SEEKD_ASSIGN_OR_RETURN(l.tmpl, chat::TemplateFromName(o.template_name));
    } else {
      l.tmpl = chat::RecognizeTemplate(src.jinja);
      if (!l.tmpl) return chat::UnknownTemplateError();
    }
    l.bos = src.bos_token.empty() ? std::string(chat::DefaultBosToken(*l.tmpl)) : src.bos_token;
    l.eos = src.eos_token.empty() ? std::string(chat::DefaultEosToken(*l.tmpl)) : src.eos_token;
  }
  l.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return l;
}

// Prints generated text as it becomes complete UTF-8, reasoning apart from the answer.
class Printer {
 public:
  Printer(const tok::Tokenizer& tok, bool chat, bool starts_in_reasoning, bool print)
      : dec_(tok, /*skip_special=*/true),
        split_(starts_in_reasoning),
        chat_(chat),
        print_(print),
        tty_(isatty(1) != 0) {}

  void Token(int32_t id) { Text(dec_.Push(id)); }
  void Finish() {
    Text(dec_.Flush());
    std::string r, c;
    split_.Flush(&r, &c);
    Emit(r, c);
    if (print_) std::cout << "\n" << std::flush;
  }
  const std::string& reasoning() const { return reasoning_; }
  const std::string& content() const { return content_; }

 private:
  void Text(const std::string& s) {
    if (s.empty()) return;
    std::string r, c;
    if (chat_) {
      split_.Push(s, &r, &c);
    } else {
      c = s;
    }
    Emit(r, c);
  }
  void Emit(const std::string& r, const std::string& c) {
    reasoning_ += r;
    content_ += c;
    if (!print_) return;
    if (!r.empty()) {
      if (!in_r_) std::cout << (tty_ ? "\033[2m" : "[reasoning]\n");
      in_r_ = true;
      std::cout << r;
    }
    if (!c.empty()) {
      if (in_r_) std::cout << (tty_ ? "\033[0m\n" : "\n[answer]\n");
      in_r_ = false;
      std::cout << c;
    }
    std::cout << std::flush;
  }

  tok::StreamDecoder dec_;
  chat::ReasoningSplitter split_;
  bool chat_, print_, tty_, in_r_ = false;
  std::string reasoning_, content_;
};

engine::SamplingParams Sampling(const Options& o) {
  engine::SamplingParams p;
  p.greedy = o.greedy;
  p.temperature = o.temp;
  p.top_k = o.top_k;
  p.top_p = o.top_p;
  p.min_p = o.min_p;
  p.seed = o.seed;
  return p;
}

// One generation; returns the assistant's content (for chat history).
Result<std::string> Turn(const Options& o, Loaded& l, engine::Generator& gen,
                         const std::string& prompt_text, bool starts_in_reasoning) {
  engine::GenerateRequest req;
  tok::EncodeOptions eo;
  if (o.chat) eo.add_bos = 0;  // the template writes BOS itself
  req.prompt = l.tok->Encode(prompt_text, eo);
  req.max_tokens = o.max_tokens;
  req.sampling = Sampling(o);
  req.stop_tokens = engine::DefaultStopTokens(*l.tok);
  Printer printer(*l.tok, o.chat, starts_in_reasoning, !o.json);
  SEEKD_ASSIGN_OR_RETURN(engine::GenerateResult r, gen.Generate(req, [&](int32_t t) {
    printer.Token(t);
    return true;
  }));
  printer.Finish();
  const double prefill_tps = static_cast<double>(req.prompt.size()) / r.prefill_seconds;
  const double decode_tps = r.decode_steps > 0 ? r.decode_steps / r.decode_seconds : 0.0;
  if (o.json) {
    nlohmann::json j = {{"prompt_tokens", req.prompt},
                        {"generated_tokens", r.tokens},
                        {"text", tok::SanitizeUtf8(l.tok->Decode(r.tokens, true))},
                        {"finish_reason", r.finish_reason},
                        {"timings",
                         {{"load_s", l.load_seconds},
                          {"pack_cache", l.llm->pack_cache().state},
                          {"prefill_s", r.prefill_seconds},
                          {"decode_s", r.decode_seconds},
                          {"prefill_tokens_per_s", prefill_tps},
                          {"decode_tokens_per_s", decode_tps}}}};
    if (o.chat) {
      j["reasoning_content"] = tok::SanitizeUtf8(printer.reasoning());
      j["content"] = tok::SanitizeUtf8(printer.content());
    }
    std::cout << j.dump() << "\n";
  } else if (!o.quiet) {
    std::cerr << fmt::format(
        "[{} prompt tokens at {:.1f} tok/s, {} generated at {:.1f} tok/s; {}; isa {}]\n",
        req.prompt.size(), prefill_tps, r.tokens.size(), decode_tps, r.finish_reason,
        kernels::IsaName(kernels::Active().isa));
  }
  return printer.content();
}

Result<std::string> Render(const Loaded& l, const nlohmann::ordered_json& messages) {
  chat::RenderOptions ro;
  ro.add_generation_prompt = true;
  ro.bos_token = l.bos;
  ro.eos_token = l.eos;
  return chat::Render(*l.tmpl, messages, ro);
}

int Run(const Options& o) {
  auto loaded = Load(o);
  if (!loaded.ok()) {
    std::cerr << "seekd run: " << loaded.status().ToString() << "\n";
    return 1;
  }
  Loaded& l = *loaded;
  // A first load stores the packed weights in the background: say so when exit waits for it.
  struct ExitNote {
    const Options& o;
    const model::Llm& llm;
    ~ExitNote() {
      const model::PackCacheStatus pc = llm.pack_cache();
      if (pc.state == "writing" && !o.quiet && !o.json)
        std::cerr << "seekd run: storing the packed weights in " << pc.file
                  << " for the next load\n";
    }
  } note{o, *l.llm};
  ThreadPool pool(o.threads > 0 ? o.threads : PhysicalCoreCount());
  const int64_t ctx = std::min<int64_t>(o.ctx, l.llm->config().n_ctx_train);
  engine::Generator gen(*l.llm, pool, ctx);
  auto fail = [](const Status& s) {
    std::cerr << "seekd run: " << s.ToString() << "\n";
    return 1;
  };
  if (!o.chat) {
    auto r = Turn(o, l, gen, o.prompt, false);
    return r.ok() ? 0 : fail(r.status());
  }
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  auto turn = [&](const std::string& user) -> Status {
    messages.push_back({{"role", "user"}, {"content", user}});
    SEEKD_ASSIGN_OR_RETURN(std::string text, Render(l, messages));
    SEEKD_ASSIGN_OR_RETURN(std::string answer,
                           Turn(o, l, gen, text, chat::PromptOpensReasoning(text)));
    messages.push_back({{"role", "assistant"}, {"content", answer}});
    return Status::Ok();
  };
  if (!o.prompt.empty()) {
    Status st = turn(o.prompt);
    return st.ok() ? 0 : fail(st);
  }
  // Interactive: one user turn per line of stdin until EOF.
  std::string line;
  while ((isatty(0) && !o.json ? std::cerr << "> " << std::flush : std::cerr) &&
         std::getline(std::cin, line)) {
    if (line.empty()) continue;
    if (Status st = turn(line); !st.ok()) return fail(st);
  }
  return 0;
}

CommandRegistrar reg("run", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("run", "Generate text with a model on this machine");
  c->add_option("--model,-m", o->model, "GGUF file or Hugging Face model folder")->required();
  c->add_option("--prompt,-p", o->prompt, "the prompt (with --chat: the user message)");
  c->add_flag("--chat", o->chat,
              "apply the model's chat template; without -p, read one user turn per line");
  c->add_option("--system", o->system, "system message (with --chat)");
  c->add_option("--template", o->template_name, "chat template name instead of the model's");
  c->add_option("--max-tokens,-n", o->max_tokens, "tokens to generate")->capture_default_str();
  c->add_option("--temp", o->temp, "sampling temperature (0: greedy)")->capture_default_str();
  c->add_option("--top-p", o->top_p, "nucleus sampling mass")->capture_default_str();
  c->add_option("--top-k", o->top_k, "keep the k most likely tokens (0: off)")
      ->capture_default_str();
  c->add_option("--min-p", o->min_p, "drop tokens below min-p × the top probability")
      ->capture_default_str();
  c->add_option("--seed", o->seed, "random seed (same seed, same text)")->capture_default_str();
  c->add_flag("--greedy", o->greedy, "always take the most likely token");
  c->add_option("--threads,-t", o->threads, "compute threads (default: physical cores)");
  AddPackCacheFlag(c, &o->pack_cache);
  c->add_option("--ctx", o->ctx, "context length in tokens")->capture_default_str();
  c->add_option("--quant", o->quant,
                "re-quantize weights at load: q8_0 | q4_k | q4_0 | q6_k | f16");
  c->add_flag("--json", o->json, "print one JSON object: token ids, text, timings");
  c->add_flag("--quiet,-q", o->quiet, "no progress or statistics on stderr");
  c->callback([o, exit_code] {
    if (!o->chat && o->prompt.empty()) throw CLI::ValidationError("--prompt", "give -p or --chat");
    *exit_code = Run(*o);
  });
});

}  // namespace
}  // namespace seekd::cli
