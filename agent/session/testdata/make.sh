#!/bin/sh
# Makes the X.509 fixtures of agent/session (see README.md). Needs openssl 3; writes here.
# The outputs are committed: unit tests read them with --allow-read only.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A small CA signing through `openssl ca`, which takes fixed validity dates.
mkdir "$work/issued"
: >"$work/index.txt"
echo 1000 >"$work/serial"
cat >"$work/ca.cnf" <<CNF
[ ca ]
default_ca = fixture
[ fixture ]
dir = $work
database = $work/index.txt
new_certs_dir = $work/issued
serial = $work/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
utf8 = yes
[ any ]
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
emailAddress = optional
serialNumber = optional
[ client_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
CNF
openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -out ca.crt -days 36500 \
  -subj "/O=edge-orchestrator fixtures/CN=fixture CA"

# sign <csr> <out.crt> <start> <end> [extensions section]
sign() {
  ext=${5:+-extensions $5}
  # shellcheck disable=SC2086
  openssl ca -batch -notext -preserveDN -utf8 -config "$work/ca.cnf" -cert ca.crt \
    -keyfile "$work/ca.key" -in "$1" -out "$2" -startdate "$3" -enddate "$4" $ext 2>/dev/null
}

# RSA 2048 (rustls refuses smaller), PKCS#8 and PKCS#1; every known attribute, UTF-8, UTCTime.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa_pkcs8.key 2>/dev/null
openssl rsa -in rsa_pkcs8.key -traditional -out rsa_pkcs1.key 2>/dev/null
openssl req -new -utf8 -key rsa_pkcs8.key -out "$work/rsa.csr" \
  -subj "/C=DE/ST=Bayern/L=München/O=Edge GmbH/OU=Dev/CN=07048933/emailAddress=ops@example.com/serialNumber=SN-42"
sign "$work/rsa.csr" rsa.crt 20240101000000Z 20340101120000Z client_ext

# EC P-256, SEC1 and PKCS#8; notAfter after 2049 is a GeneralizedTime (RFC 5280 4.1.2.5).
openssl ecparam -name prime256v1 -genkey -noout -out ec_sec1.key
openssl pkcs8 -topk8 -nocrypt -in ec_sec1.key -out ec_pkcs8.key
openssl req -new -key ec_sec1.key -out "$work/ec.csr" -subj "/O=Edge/CN=dev-ec"
sign "$work/ec.csr" ec.crt 20240101000000Z 20991231235959Z client_ext

# Keys that belong to no certificate here: the mismatched pairs.
openssl ecparam -name prime256v1 -genkey -noout -out other_ec.key
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other_rsa.key 2>/dev/null

# Bad identities the agent must refuse: v1 (no extensions), no CN, expired.
openssl req -new -key ec_sec1.key -out "$work/v1.csr" -subj "/CN=dev-v1"
sign "$work/v1.csr" v1.crt 20240101000000Z 20340101000000Z
openssl req -new -key ec_sec1.key -out "$work/nocn.csr" -subj "/O=NoName"
sign "$work/nocn.csr" nocn.crt 20240101000000Z 20340101000000Z client_ext
openssl req -new -key ec_sec1.key -out "$work/expired.csr" -subj "/CN=dev-expired"
sign "$work/expired.csr" expired.crt 20200101000000Z 20210101000000Z client_ext

# String types other than UTF8String, chosen by req's string_mask (ASN1 B_ASN1_* bits):
# 0x4 T61String (Latin-1 bytes), 0x800 BMPString (UTF-16BE). openssl never writes a
# UniversalString into a name (no attribute allows it), so x509_test.ts builds that one by hand.
# mixed.crt: a multi-valued RDN, DC (an OID without a short name here) and an attribute under IANA's
# example enterprise number (1.3.6.1.4.1.32473, RFC 5612) that openssl itself knows only by OID.
strtype() {
  printf 'oid_section=oids\n[oids]\nexampleAttr=1.3.6.1.4.1.32473.1\n' >"$work/$1.cnf"
  printf '[req]\ndistinguished_name=dn\nstring_mask=%s\n[dn]\n' "$2" >>"$work/$1.cnf"
  openssl req -x509 -new -utf8 -multivalue-rdn -config "$work/$1.cnf" -key ec_sec1.key \
    -days 36500 -addext basicConstraints=CA:FALSE -out "$1.crt" -subj "$3"
}
strtype t61 MASK:0x4 "/O=Müller & Söhne/CN=dev-t61"
strtype bmp MASK:0x800 "/O=Grüße €/CN=dev-bmp"
strtype mixed utf8only "/CN=dev-mixed+OU=multi/DC=example/exampleAttr=Edge 😀"

# openssl's own reading of every certificate, for x509_test.ts to compare against:
# file|version|serial|notBefore|notAfter|subject|issuer (names in certificate order).
for crt in *.crt; do
  view() { openssl x509 -in "$crt" -noout "$@"; }
  version=$(view -text | sed -n 's/^ *Version: \([0-9]\).*/\1/p')
  serial=$(view -serial | cut -d= -f2)
  before=$(view -startdate -dateopt iso_8601 | cut -d= -f2)
  after=$(view -enddate -dateopt iso_8601 | cut -d= -f2)
  opts=sep_comma_plus_space,sname,utf8
  subject=$(view -subject -nameopt "$opts" | sed 's/^subject=//')
  issuer=$(view -issuer -nameopt "$opts" | sed 's/^issuer=//')
  echo "$crt|$version|$serial|$before|$after|$subject|$issuer"
done >openssl_view.txt
