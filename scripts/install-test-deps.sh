#!/usr/bin/env bash
# Installs the real Kafka clients the end-to-end tests use, from Debian's packages, when missing:
# kcat (librdkafka), kafka-python, confluent-kafka and avro (the registry's Avro format is checked
# against its compatibility rules) for /usr/bin/python3, with what confluent-kafka's schema
# registry serializers need (requests, jsonschema, protobuf; protoc and the well-known .proto
# files to generate a test's Protobuf module), Avro's Java library and a JDK (the Avro
# format's canonical text is checked against Avro Java's), openssl for the
# tests' throwaway certificates, Node.js and npm (tests/node: the registry test installs its pinned
# npm packages with `npm ci` itself), and Burrow 1.2.1 with the ZooKeeper (and a JRE) it needs for the
# old-clients tests, PostgreSQL (the Connect CDC tests start their own server with initdb and
# pg_ctl on a free port), rsyslog (the syslog source test runs its own rsyslogd) Chromium and
# Firefox ESR (the console's browser tests drive them headless: chromedp, WebDriver BiDi).
set -euo pipefail
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
/usr/bin/python3 -c 'import kafka' >/dev/null 2>&1 || missing+=(python3-kafka)
/usr/bin/python3 -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
/usr/bin/python3 -c 'import avro.compatibility' >/dev/null 2>&1 || missing+=(python3-avro)
/usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || missing+=(python3-requests)
/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1 || missing+=(python3-jsonschema)
/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1 || missing+=(python3-protobuf)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/timestamp.proto ] || missing+=(libprotobuf-dev)
[ -f /usr/share/java/avro.jar ] || missing+=(libavro-java)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/node ] || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v Burrow >/dev/null 2>&1 || missing+=(burrow)
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
[ -f /usr/share/java/slf4j-simple.jar ] || missing+=(libslf4j-java)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
command -v rsyslogd >/dev/null 2>&1 || [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing test clients: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
