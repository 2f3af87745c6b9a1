// A small Prometheus registry: counters, gauges and histograms with a fixed set of label names
// per family, written in the text exposition format (version 0.0.4). Values that live
// elsewhere (engine statistics, process figures) are added at scrape time by collectors.
//
// Thread-safety: every method is thread-safe; a family's series share one mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace seekd::obs {

class Family {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::vector<double> buckets);

  // `values` match the family's label names in order.
  void Inc(const std::vector<std::string>& values, double by = 1.0);
  void Set(const std::vector<std::string>& values, double v);
  void Observe(const std::vector<std::string>& values, double v);
  // The current value of a counter or gauge series (0 when absent), for tests.
  double Get(const std::vector<std::string>& values) const;

  void Write(std::string* out) const;
  const std::string& name() const { return name_; }

 private:
  struct Series {
    double value = 0;
    std::vector<uint64_t> counts;  // histogram: per bucket (not cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  Series& At(const std::vector<std::string>& values);  // under mu_

  std::string name_, help_;
  Type type_;
  std::vector<std::string> labels_;
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, Series> series_;
};

class Registry {
 public:
  Family& Counter(const std::string& name, const std::string& help,
                  std::vector<std::string> labels = {});
  Family& Gauge(const std::string& name, const std::string& help,
                std::vector<std::string> labels = {});
  Family& Histogram(const std::string& name, const std::string& help,
                    std::vector<std::string> labels, std::vector<double> buckets);
  // Runs before each exposition (to refresh gauges from their sources).
  void AddCollector(std::function<void()> collect);
  std::string Expose() const;

 private:
  Family& Add(std::unique_ptr<Family> f);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::function<void()>> collectors_;
};

// Latency buckets in seconds (they include 2 s, the alert threshold).
std::vector<double> LatencyBuckets();
// Escapes a label value for the exposition format.
std::string EscapeLabel(const std::string& v);

// This process: CPU seconds (user + system), resident bytes, open file descriptors.
struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double open_fds = 0;
  double start_time_seconds = 0;
};
ProcessStats ReadProcessStats();

// Accelerators through NVML, loaded at run time: empty when there is no driver or GPU.
struct AcceleratorStats {
  std::string index;
  double utilization_ratio = 0;  // 0..1
  double memory_used_bytes = 0, memory_total_bytes = 0;
};
std::vector<AcceleratorStats> ReadAccelerators();

}  // namespace seekd::obs
