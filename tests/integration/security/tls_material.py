"""Certificates made by the tests (the `cryptography` package): a CA, a broker certificate for
127.0.0.1 / localhost, a client certificate, written as the PEM files Kafka and librdkafka read."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # the CA certificate (PEM): the broker's truststore and the client's ssl.ca.location
    broker_keystore: Path  # broker key (PKCS#8, unencrypted) + certificate chain, ssl.keystore.type=PEM
    client_certificate: Path
    client_key: Path  # encrypted with client_key_password
    client_key_password: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "media-stream tests"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False, server: bool = False) -> x509.Certificate:
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def certificate_authority(directory: Path, name: str = "media-stream test CA") -> tuple[Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _certificate(name, key, _name(name), key, ca=True)
    path = directory / f"{name.replace(' ', '-')}.pem"
    path.write_bytes(_pem(cert))
    return path, cert.subject, key


def write_tls_files(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_name, ca_key = certificate_authority(directory)
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = _certificate("localhost", broker_key, ca_name, ca_key, server=True)
    keystore = directory / "broker-keystore.pem"
    keystore.write_bytes(_key(broker_key) + _pem(broker) + ca_path.read_bytes())
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate("media-stream-agent", client_key, ca_name, ca_key)
    (directory / "client.pem").write_bytes(_pem(client))
    password = "client-key-passphrase"
    (directory / "client-key.pem").write_bytes(_key(client_key, password))
    for private in (keystore, directory / "client-key.pem"):
        private.chmod(0o600)
    return TlsFiles(ca_path, keystore, directory / "client.pem", directory / "client-key.pem", password)
