// seekd tokenize --model PATH [--json] [--no-special] [--no-bos] (TEXT | --jsonl)
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.h"
#include "loader/loader.h"
#include "tokenizer/unicode.h"

namespace seekd::cli {
namespace {

struct Options {
  std::string model;
  std::string text;
  bool json = false, no_special = false, no_bos = false, jsonl = false;
};

int Run(const Options& o) {
  auto tok = loader::LoadTokenizer(o.model);
  if (!tok.ok()) {
    std::cerr << "seekd tokenize: " << tok.status().ToString() << "\n";
    return 1;
  }
  tok::EncodeOptions eo;
  eo.parse_special = !o.no_special;
  if (o.no_bos) eo.add_bos = 0;
  if (o.jsonl) {  // one JSON string per line in, one JSON array of ids per line out
    std::string line;
    size_t n = 0;
    while (std::getline(std::cin, line)) {
      ++n;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        std::cerr << "seekd tokenize: line " << n << " is not JSON: " << e.what() << "\n";
        return 1;
      }
      if (!j.is_string()) {
        std::cerr << "seekd tokenize: line " << n << " is not a JSON string\n";
        return 1;
      }
      std::cout << nlohmann::json(tok->Encode(j.get<std::string>(), eo)).dump() << "\n";
    }
    return 0;
  }
  const auto ids = tok->Encode(o.text, eo);
  if (o.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tok::SanitizeUtf8(tok->TokenBytes(id)));
    nlohmann::json out = {{"ids", ids}, {"pieces", pieces}, {"count", ids.size()}};
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
  return 0;
}

CommandRegistrar reg("tokenize", [](CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "tokenize", "Print the token ids of a text (exact DeepSeek/Qwen/Llama-3 BPE)");
  c->add_option("--model,-m", opts->model,
                "GGUF file, Hugging Face model folder, or tokenizer.json")
      ->required();
  c->add_flag("--json", opts->json, "print {ids, pieces, count}");
  c->add_flag("--no-special", opts->no_special, "treat special-token text as plain text");
  c->add_flag("--no-bos", opts->no_bos, "do not add the BOS token");
  c->add_flag("--jsonl", opts->jsonl,
              "read one JSON string per stdin line, print one id array per line");
  c->add_option("text", opts->text, "the text to tokenize");
  c->callback([opts, c, exit_code] {
    if (!opts->jsonl && c->count("text") == 0)
      throw CLI::ValidationError("TEXT", "give a text or --jsonl");
    *exit_code = Run(*opts);
  });
});

}  // namespace
}  // namespace seekd::cli
