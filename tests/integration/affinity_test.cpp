// server.cpu_affinity: with one worker per CPU the process may run on, each worker keeps to its own
// CPU (auto); with "off", or fewer workers than CPUs, none is pinned. Read back from
// /proc/self/task/*/status, as `taskset -p` would show it.
#include <gtest/gtest.h>
#include <sched.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "harness.hpp"

namespace olla::test {
namespace {

std::set<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::set<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.insert(c);
  }
  return out;
}

// The CPUs of this process's threads that may run on one CPU only ("Cpus_allowed_list:\t1").
std::multiset<int> pinned_threads() {
  std::multiset<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Cpus_allowed_list:", 0) != 0) continue;
      const auto list = line.substr(line.find_first_not_of(" \t", 18));
      if (list.find_first_of(",-") == std::string::npos) out.insert(std::stoi(list));
    }
  }
  return out;
}

Stack stack_with(int threads, const std::string& affinity) {
  return Stack({mock::MockOptions{}}, "", "200ms", {}, [&](config::Config& c) {
    c.server.threads = threads;
    c.server.cpu_affinity = affinity;
  });
}

TEST(CpuAffinity, OneWorkerPerCpuKeepsEachOnItsOwn) {
  const auto cpus = allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "one CPU: nothing to pin";
  ASSERT_TRUE(pinned_threads().empty()) << "this test process pins nothing of its own";
  auto stack = stack_with(0, "auto");  // 0: one worker per allowed CPU
  const auto pinned = pinned_threads();
  // A worker on each CPU. (Threads a worker starts share its CPU: Asio's resolver thread, which
  // the health checker's first probe starts on worker 0.)
  EXPECT_EQ(std::set<int>(pinned.begin(), pinned.end()), cpus);
  EXPECT_GE(pinned.size(), cpus.size());
  // And it serves.
  EXPECT_EQ(request(stack.port(), "GET", "/internal/health").status, 200);
}

TEST(CpuAffinity, OffOrFewerWorkersThanCpusPinsNothing) {
  const auto cpus = allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "one CPU: nothing to pin";
  {
    auto stack = stack_with(0, "off");
    EXPECT_TRUE(pinned_threads().empty());
  }
  {
    auto stack = stack_with(static_cast<int>(cpus.size()) - 1, "auto");
    EXPECT_TRUE(pinned_threads().empty());
  }
}

}  // namespace
}  // namespace olla::test
