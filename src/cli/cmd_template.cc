// seekd template [--model PATH] [--template NAME] [--no-generation-prompt] [--tools FILE]
// [--thinking] Reads an OpenAI `messages` array on stdin and prints the rendered prompt exactly.
#include <CLI/CLI.hpp>

#include <iostream>
#include <iterator>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "core/mapped_file.h"
#include "loader/loader.h"

namespace seekd::cli {
namespace {

using ojson = nlohmann::ordered_json;

struct Options {
  std::string model, template_name, tools_file;
  bool no_generation_prompt = false, thinking = false;
};

int Fail(const std::string& msg) {
  std::cerr << "seekd template: " << msg << "\n";
  return 1;
}

int Run(const Options& o) {
  chat::RenderOptions ro;
  ro.add_generation_prompt = !o.no_generation_prompt;
  ro.thinking = o.thinking;
  std::optional<chat::TemplateId> id;
  if (!o.template_name.empty()) {
    auto r = chat::TemplateFromName(o.template_name);
    if (!r.ok()) return Fail(r.status().message());
    id = *r;
  }
  if (!o.model.empty()) {
    auto src = loader::LoadChatTemplate(o.model);
    if (!src.ok()) return Fail(src.status().ToString());
    if (!src->bos_token.empty()) ro.bos_token = src->bos_token;
    if (!src->eos_token.empty()) ro.eos_token = src->eos_token;
    if (!id) {
      if (src->jinja.empty())
        return Fail("the model ships no chat template; choose one with --template NAME");
      id = chat::RecognizeTemplate(src->jinja);
      if (!id) return Fail(chat::UnknownTemplateError().message());
    }
  }
  if (!id) return Fail("give --model PATH or --template NAME");
  if (!o.tools_file.empty()) {
    auto text = ReadFileToString(o.tools_file);
    if (!text.ok()) return Fail(text.status().ToString());
    try {
      ro.tools = ojson::parse(*text);
    } catch (const ojson::exception& e) {
      return Fail(o.tools_file + " is not JSON: " + e.what());
    }
  }
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  ojson messages;
  try {
    messages = ojson::parse(input);
  } catch (const ojson::exception& e) {
    return Fail(std::string("stdin is not a JSON messages array: ") + e.what());
  }
  auto out = chat::Render(*id, messages, ro);
  if (!out.ok()) return Fail(out.status().message());
  std::cout << *out << std::flush;
  return 0;
}

CommandRegistrar reg("template", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("template",
                                   "Render an OpenAI messages array (stdin) with a chat template");
  c->add_option(
      "--model,-m", o->model,
      "GGUF file, model folder or tokenizer_config.json whose chat template (and bos/eos) to use");
  std::string names;
  for (auto n : chat::TemplateNames()) names += (names.empty() ? "" : " | ") + std::string(n);
  c->add_option("--template", o->template_name, "built-in template: " + names);
  c->add_flag("--no-generation-prompt", o->no_generation_prompt, "do not open the assistant turn");
  c->add_option("--tools", o->tools_file, "JSON file with an OpenAI tools array");
  c->add_flag("--thinking", o->thinking, "enable thinking (templates with a thinking switch)");
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
