// t-SNE benchmark (not a test): for N = 2,000, 5,000 and 10,000 points of 64-d data in 10 Gaussian
// blobs (seeded, like scikit-learn's make_blobs), each implementation (cpu, vulkan, pca) runs the
// default schedule (perplexity 30, 1000 iterations, PCA initialisation), then the embedding is
// validated (finite) and its trustworthiness (k = 10) printed with the wall time and the process
// CPU time (all threads; on a busy machine the wall time says little).
// Usage: bench_tsne [N ...] [--methods cpu,vulkan,pca] [--iterations I] [--theta T] [--perplexity P]
// (theta: the Vulkan far-field criterion, 0 = exact repulsion; figures in docs/tsne.md)
// Reference on this machine (from issue 4): scikit-learn 1.2 Barnes-Hut t-SNE takes ~5 s (2,000),
// ~15 s (5,000), ~32 s (10,000) at trustworthiness 0.969 (10,000).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "tsne/blobs.h"
#include "tsne/trustworthiness.h"
#include "tsne/tsne.h"

using namespace rl::tsne;

int main(int argc, char** argv) {
  std::vector<size_t> sizes;
  std::vector<Method> methods = {Method::Cpu, Method::Vulkan, Method::Pca};
  int iterations = 1000;
  double theta = TsneOptions{}.theta, perplexity = TsneOptions{}.perplexity;
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    if (arg == "--methods" && a + 1 < argc) {
      methods.clear();
      std::string list = argv[++a];
      for (size_t s = 0; s <= list.size();) {
        size_t e = list.find(',', s);
        if (e == std::string::npos) e = list.size();
        std::string m = list.substr(s, e - s);
        if (m == "cpu")
          methods.push_back(Method::Cpu);
        else if (m == "vulkan")
          methods.push_back(Method::Vulkan);
        else if (m == "pca")
          methods.push_back(Method::Pca);
        else {
          std::fprintf(stderr, "unknown method '%s' (cpu, vulkan, pca)\n", m.c_str());
          return 2;
        }
        s = e + 1;
      }
    } else if (arg == "--iterations" && a + 1 < argc) {
      iterations = std::atoi(argv[++a]);
    } else if (arg == "--theta" && a + 1 < argc) {
      theta = std::atof(argv[++a]);
    } else if (arg == "--perplexity" && a + 1 < argc) {
      perplexity = std::atof(argv[++a]);
    } else {
      char* end = nullptr;
      const unsigned long n = std::strtoul(arg.c_str(), &end, 10);
      if (n == 0 || *end != '\0') {
        std::fprintf(stderr,
                     "usage: bench_tsne [N ...] [--methods cpu,vulkan,pca] [--iterations I] [--theta T] "
                     "[--perplexity P]\n");
        return 2;
      }
      sizes.push_back(n);
    }
  }
  if (sizes.empty()) sizes = {2000, 5000, 10000};
  const double sklearnSeconds[] = {5, 15, 32};

  std::printf("%-8s %-7s %9s %9s %9s %8s %10s %s\n", "N", "method", "seconds", "cpu-s", "affinity", "trust", "KL",
              "device");
  int failures = 0;
  for (size_t n : sizes) {
    const Blobs data = makeBlobs(n, 64, 10, 42);
    const MatrixView x{data.points.data(), n, 64};
    for (Method m : methods) {
      TsneOptions o;
      o.method = m;
      o.iterations = iterations;
      o.theta = theta;
      o.perplexity = perplexity;
      TsneResult r;
      const std::clock_t c0 = std::clock();
      try {
        r = embed(x, o);
      } catch (const std::exception& e) {
        std::printf("%-8zu %-7s failed: %s\n", n, methodName(m), e.what());
        ++failures;
        continue;
      }
      bool finite = r.embedding.size() == 2 * n;
      for (float v : r.embedding) finite = finite && std::isfinite(v);
      if (!finite) {
        std::printf("%-8zu %-7s INVALID embedding (size or non-finite values)\n", n, methodName(m));
        ++failures;
        continue;
      }
      const double cpuSeconds = double(std::clock() - c0) / CLOCKS_PER_SEC;
      const double t = trustworthiness(x, {r.embedding.data(), n, 2}, 10);
      std::printf("%-8zu %-7s %9.2f %9.2f %9.2f %8.4f %10.4f %s\n", n, methodName(m), r.seconds, cpuSeconds,
                  r.affinitySeconds, t, r.kl, r.device.c_str());
      std::fflush(stdout);
    }
  }
  std::printf(
      "scikit-learn 1.2 Barnes-Hut reference: %.0f s (2,000), %.0f s (5,000), %.0f s (10,000), trust 0.969 at 10,000\n",
      sklearnSeconds[0], sklearnSeconds[1], sklearnSeconds[2]);
  return failures ? 1 : 0;
}
