"""A throwaway self-signed certificate for the sandbox's HTTPS mode (``--tls``).

Made at start with ``cryptography`` (an Airflow dependency), valid for ``127.0.0.1``, ``::1`` and
``localhost`` for one day, and written to a temporary PEM file that doubles as the CA file a client
trusts (``ca_bundle`` connection extra, ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE``). The key never
leaves the server process's temporary directory, which is removed when the server stops.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class SelfSignedCert:
    """Paths of a fresh certificate (``cert_file``, also the CA file to trust) and its key."""

    directory: str
    cert_file: str
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context (TLS 1.2+) serving this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this certificate (for the admin calls)."""
        return ssl.create_default_context(cafile=self.cert_file)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def make_self_signed_cert(common_name: str = "airflow-provider-cancel sandbox") -> SelfSignedCert:
    """Make a P-256 key and a self-signed CA-capable certificate for the loopback names, in a new temp dir."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        # Self-signed, so the certificate is its own trust anchor: a CA that may sign only itself.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tempfile.mkdtemp(prefix="cancel-sandbox-tls-")
    cert_file = os.path.join(directory, "sandbox-ca.pem")
    key_file = os.path.join(directory, "sandbox-key.pem")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return SelfSignedCert(directory, cert_file, key_file)
