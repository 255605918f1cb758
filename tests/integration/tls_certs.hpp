#pragma once
// Throwaway TLS material for the https tests: a CA and a server certificate it signed, generated
// in-process with the OpenSSL 3 C API (EC P-256 keys, SHA-256 signatures, valid from an hour ago
// for a day) and written as PEM files into a fresh temporary directory, removed on destruction.

#include <string>
#include <vector>

namespace olla::test {

class TlsCerts {
 public:
  // The server certificate's subjectAltName: DNS names and IP addresses (its CN is the first DNS
  // name, else the first IP). Throws std::runtime_error when OpenSSL or the file system fails.
  explicit TlsCerts(const std::vector<std::string>& dns_names = {"localhost"},
                    const std::vector<std::string>& ip_addresses = {"127.0.0.1"});
  ~TlsCerts();  // removes the directory and the files
  TlsCerts(const TlsCerts&) = delete;
  TlsCerts& operator=(const TlsCerts&) = delete;

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }        // the CA certificate
  std::string cert_file() const { return dir_ + "/server.pem"; }  // the server certificate
  std::string key_file() const { return dir_ + "/server.key"; }   // its key, unencrypted PEM

 private:
  std::string dir_;
};

}  // namespace olla::test
