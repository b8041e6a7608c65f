#!/bin/sh
# Installs the Debian packages the tests need (the BGP speakers: ExaBGP, GoBGP, BIRD 2, FRR; the GoBGP API protos,
# iproute2; tcpdump, nftables, iptables, ufw and firewalld for the agent; hping3 and ping for floods;
# chromium for the console's browser tests), once:
# nothing happens when they are all present. Installing needs root and apt-get; without
# them it names the packages to install and fails.
set -eu
missing=""
command -v exabgp >/dev/null 2>&1 || missing="$missing exabgp"
command -v gobgpd >/dev/null 2>&1 || missing="$missing gobgpd"
command -v bird >/dev/null 2>&1 || missing="$missing bird2"
[ -x /usr/lib/frr/bgpd ] || missing="$missing frr"
[ -d /usr/share/gocode/src/github.com/osrg/gobgp/api ] || missing="$missing golang-github-osrg-gobgp-dev"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v tcpdump >/dev/null 2>&1 || missing="$missing tcpdump"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
command -v iptables >/dev/null 2>&1 || missing="$missing iptables"
command -v hping3 >/dev/null 2>&1 || missing="$missing hping3"
command -v ping >/dev/null 2>&1 || missing="$missing iputils-ping"
command -v ufw >/dev/null 2>&1 || missing="$missing ufw"
command -v firewall-cmd >/dev/null 2>&1 || missing="$missing firewalld"
command -v dbus-daemon >/dev/null 2>&1 || missing="$missing dbus-daemon"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "error: the tests' BGP lab needs these Debian packages:$missing" >&2
  echo "  install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "setup: installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# The packages' daemons (firewalld, the system D-Bus) must not start on this host: the tests
# run their own inside namespaces. policy-rc.d answering 101 forbids service starts.
cleanup=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  cleanup=/usr/sbin/policy-rc.d
fi
trap '[ -z "$cleanup" ] || rm -f "$cleanup"' EXIT
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
