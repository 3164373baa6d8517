// Helpers of the security tests: throwaway certificates (tests/testing/make_test_certs.sh, run
// with `openssl` at test time; no key is committed), token files, and a local address that is
// not loopback (to see what a server does with calls from off the machine).
//
// Thread-safety: free functions; each TestPki has its own directory.
#ifndef SGDSPECTRA_TESTS_TESTING_TEST_SECURITY_H_
#define SGDSPECTRA_TESTS_TESTING_TEST_SECURITY_H_

#include <string>
#include <vector>

namespace sgdspectra::testing {

// The files of make_test_certs.sh in `dir`: ca.crt, server.crt/.key (localhost, 127.0.0.1, ::1
// and the extra SANs), client.crt/.key (signed by ca), rogue.crt/.key (signed by other-ca).
struct TestPki {
  std::string dir;  // empty when the certificates could not be made
  bool ok() const { return !dir.empty(); }
  std::string Path(const std::string& name) const { return dir + "/" + name; }
  // The file's contents (PEM); aborts the test program if it cannot be read.
  std::string Read(const std::string& name) const;
};

// Makes a fresh PKI in a new temporary directory. On failure prints why and returns !ok().
TestPki MakeTestPki(const std::vector<std::string>& extra_sans = {});

// Writes `text` to `path` through a temporary file and a rename (a server reading it on SIGHUP
// never sees half a file); mode 0600. Aborts on failure.
void WriteFileAtomically(const std::string& path, const std::string& text);

// An IPv4 address of this machine that is not loopback (e.g. "192.0.2.2"), or "" if there is
// none (then a test of calls from off the machine has to skip).
std::string NonLoopbackIpv4();

}  // namespace sgdspectra::testing

#endif  // SGDSPECTRA_TESTS_TESTING_TEST_SECURITY_H_
