#include "cli/model_flags.h"

#include <CLI/CLI.hpp>

namespace seekd::cli {

void AddPackCacheFlag(CLI::App* c, std::string* dir) {
  c->add_option("--pack-cache", *dir,
                "folder caching the weights repacked for the GEMM, so later loads map them "
                "(off: repack every load; default: ~/.cache/seekd/packed)")
      ->envname("SEEKD_PACK_CACHE");
}

}  // namespace seekd::cli
