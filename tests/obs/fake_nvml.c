/* A stand-in for the NVIDIA driver's libnvidia-ml.so.1 with the five functions seekd calls,
   with NVML's own signatures and struct layouts (nvml.h): two devices with fixed readings. The
   test puts it first on LD_LIBRARY_PATH, so seekd's dlopen binding is checked against the ABI
   without a GPU. */
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef void* nvmlDevice_t;

static int devices[2];

int nvmlInit_v2(void) { return 0; }
int nvmlDeviceGetCount_v2(unsigned int* n) { *n = 2; return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t* d) {
  if (i >= 2) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  *d = &devices[i];
  return 0;
}
int nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t* u) {
  const int i = (int)((int*)d - devices);
  u->gpu = i == 0 ? 42 : 95;
  u->memory = i == 0 ? 10 : 50;
  return 0;
}
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t* m) {
  const int i = (int)((int*)d - devices);
  m->total = 150000000000ull;
  m->used = i == 0 ? 1000000000ull : 140000000000ull;
  m->free = m->total - m->used;
  return 0;
}
