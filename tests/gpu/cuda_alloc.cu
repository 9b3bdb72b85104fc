// A CUDA-using worker for tests/gpu/run_gpu_check.sh: allocates a known amount of device memory,
// touches it, then listens on --port like any worker (so the Hive reports it `ready`) and holds
// the memory until SIGTERM or SIGINT. With --busy 1 it keeps the GPU working meanwhile
// (memsets of the whole allocation, back to back), so that NVML has SM utilisation to report.
//
//   cuda_alloc --port N --mib M [--busy 1]
//
// Build: nvcc -O2 -o cuda_alloc cuda_alloc.cu
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <cuda_runtime.h>

static volatile sig_atomic_t g_stop = 0;
static void on_signal(int) { g_stop = 1; }

int main(int argc, char** argv) {
  int port = -1;
  long mib = 256;
  bool busy = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--mib") == 0) mib = std::atol(argv[i + 1]);
    else if (std::strcmp(argv[i], "--busy") == 0) busy = std::atoi(argv[i + 1]) != 0;
  }
  if (port < 0 || mib <= 0) {
    std::fprintf(stderr, "usage: cuda_alloc --port N --mib M\n");
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  void* dev = nullptr;
  const size_t bytes = static_cast<size_t>(mib) << 20;
  cudaError_t err = cudaMalloc(&dev, bytes);
  if (err != cudaSuccess) {
    std::fprintf(stderr, "cudaMalloc(%ld MiB): %s\n", mib, cudaGetErrorString(err));
    return 1;
  }
  // Touch every page so the driver really backs the allocation.
  err = cudaMemset(dev, 0x5A, bytes);
  if (err == cudaSuccess) err = cudaDeviceSynchronize();
  if (err != cudaSuccess) {
    std::fprintf(stderr, "cudaMemset: %s\n", cudaGetErrorString(err));
    return 1;
  }

  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    std::perror("listen");
    return 1;
  }
  while (!g_stop) {
    if (busy) {
      cudaMemsetAsync(dev, 0x5A, bytes);
      cudaDeviceSynchronize();
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, busy ? 0 : 200) > 0) {
      int c = accept(fd, nullptr, nullptr);
      if (c >= 0) {
        static const char kReply[] = "HTTP/1.0 200 OK\r\n\r\nok\n";
        (void)!write(c, kReply, sizeof kReply - 1);
        close(c);
      }
    }
  }
  cudaFree(dev);
  return 0;
}
