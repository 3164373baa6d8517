#include "test_security.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "child_server.h"

namespace sgdspectra::testing {

std::string TestPki::Read(const std::string& name) const {
  std::ifstream in(Path(name), std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", Path(name).c_str());
    std::abort();
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TestPki MakeTestPki(const std::vector<std::string>& extra_sans) {
  TestPki pki;
  const std::string dir = MakeTempDir();
  std::string command = std::string("bash '") + SGDSPECTRA_MAKE_TEST_CERTS + "' '" + dir + "'";
  for (const std::string& san : extra_sans) command += " '" + san + "'";
  if (std::system(command.c_str()) != 0) {
    std::fprintf(stderr, "%s failed (is openssl installed?)\n", command.c_str());
    return pki;
  }
  pki.dir = dir;
  return pki;
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const bool ok = fd >= 0 &&
                  write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  close(fd) == 0 && rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    std::perror(path.c_str());
    std::abort();
  }
}

std::string NonLoopbackIpv4() {
  ifaddrs* interfaces = nullptr;
  if (getifaddrs(&interfaces) != 0) return "";
  std::string found;
  for (const ifaddrs* entry = interfaces; entry != nullptr && found.empty();
       entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);
    if ((ntohl(address->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN] = {};
    if (inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text)) != nullptr) found = text;
  }
  freeifaddrs(interfaces);
  return found;
}

}  // namespace sgdspectra::testing
