#include "tls_certs.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace olla::test {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) {
  std::string msg = "tls_certs: " + what;
  if (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  throw std::runtime_error(msg);
}

void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

Key make_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(key != nullptr, "EC P-256 key generation");
  return key;
}

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) == 1,
        std::string("name entry ") + field);
}

// An extension in openssl.cnf syntax ("critical,CA:TRUE", "DNS:localhost,IP:127.0.0.1"...).
void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, std::string("extension ") + OBJ_nid2sn(nid) + " = " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, std::string("adding extension ") + OBJ_nid2sn(nid));
}

// A certificate with a random positive serial, valid from an hour ago for a day, for `key`, its
// subject "O=olla tests, CN=<cn>". Extensions and the signature are the caller's.
Cert new_cert(EVP_PKEY* key, const std::string& cn) {
  Cert cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof serial) == 1, "RAND_bytes");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  check(bn != nullptr && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())),
        "serial number");
  check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600) != nullptr, "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  add_name(name, "O", "olla tests");
  add_name(name, "CN", cn);
  return cert;
}

void sign(X509* cert, EVP_PKEY* issuer_key) {
  check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "X509_sign");
}

std::unique_ptr<std::FILE, FileClose> open_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileClose> f(std::fopen(path.c_str(), "w"));
  if (!f) throw std::system_error(errno, std::generic_category(), "tls_certs: open " + path);
  return f;
}

void write_cert(const std::string& path, X509* cert) {
  auto f = open_file(path);
  check(PEM_write_X509(f.get(), cert) == 1, "writing " + path);
  check(std::fflush(f.get()) == 0, "writing " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  auto f = open_file(path);
  ::fchmod(fileno(f.get()), 0600);
  check(PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing " + path);
  check(std::fflush(f.get()) == 0, "writing " + path);
}

}  // namespace

TlsCerts::TlsCerts(const std::vector<std::string>& dns_names,
                   const std::vector<std::string>& ip_addresses) {
  if (dns_names.empty() && ip_addresses.empty())
    throw std::invalid_argument("tls_certs: the server certificate needs a DNS name or an IP");
  std::string tmpl = (std::filesystem::temp_directory_path() / "olla-tls-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw std::system_error(errno, std::generic_category(), "tls_certs: mkdtemp " + tmpl);
  dir_ = tmpl;
  try {
    // The CA: self-signed, may sign end-entity certificates only.
    const Key ca_key = make_key();
    const Cert ca = new_cert(ca_key.get(), "olla test CA");
    check(X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get())) == 1, "CA issuer");
    add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    sign(ca.get(), ca_key.get());

    // The server: signed by the CA, for the given names.
    const Key key = make_key();
    const Cert cert = new_cert(key.get(), dns_names.empty() ? ip_addresses[0] : dns_names[0]);
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) == 1, "issuer");
    std::string san;
    for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
    for (const auto& ip : ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
    add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
    add_ext(cert.get(), ca.get(), NID_subject_alt_name, san);
    add_ext(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
    add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
    sign(cert.get(), ca_key.get());

    write_cert(ca_file(), ca.get());
    write_cert(cert_file(), cert.get());
    write_key(key_file(), key.get());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
}

TlsCerts::~TlsCerts() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace olla::test
