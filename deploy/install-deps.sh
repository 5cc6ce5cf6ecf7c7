#!/usr/bin/env bash
# Ensure the Debian packages LogDrain needs to build and run are installed.
# Fast no-op when everything is present. As root it installs what is missing;
# otherwise it prints the exact command to run and exits 1.
#
#   deploy/install-deps.sh          build and run (the demo)
#   deploy/install-deps.sh --test   also the test peers: headless Chromium, its driver and
#                                   Selenium (browser tests), schemathesis from PyPI (API tests)
set -euo pipefail
WITH_TEST_PEERS=0
[[ "${1:-}" == "--test" ]] && WITH_TEST_PEERS=1

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PACKAGES=(
  libpq-dev            # libpq headers + pkg-config file (systemLibrary CLibPQ)
  libcurl4-openssl-dev # libcurl headers + pkg-config file (systemLibrary CCurl)
  libssl-dev           # OpenSSL libcrypto headers (HMAC, encryption)
  postgresql-15        # server binaries for the private cluster (deploy/pg.sh)
  postgresql-client-15 # psql, createdb
  openssl              # deploy/certs.sh, secrets
  python3              # deploy/receiver.py
  pkg-config           # SwiftPM systemLibrary pkgConfig lookups
  curl                 # readiness checks in deploy/*.sh, the metrics test, benchmarks
)
if ((WITH_TEST_PEERS)); then
  PACKAGES+=(
    chromium             # the dashboard's browser test (headless)
    chromium-driver      # WebDriver for it
    python3-selenium     # drives it, from Debian's /usr/bin/python3
    systemd              # systemd-analyze verify for deploy/systemd/
    pgbouncer            # transaction pooling in front of the test cluster (deploy/pgbouncer.sh)
    jq                   # the runbooks read --json output with it (they are executed by the tests)
  )
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all Debian packages present (${PACKAGES[*]})"
else
  echo "install-deps: missing Debian packages: ${missing[*]}"
  if [[ "$(id -u)" -eq 0 ]]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "install-deps: apt-get update"
    apt-get update -qq
    echo "install-deps: apt-get install -y ${missing[*]}"
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    echo "install-deps: installed ${missing[*]}"
  else
    echo "install-deps: not root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if command -v swift >/dev/null 2>&1; then
  echo "install-deps: swift: $(command -v swift)"
elif [[ -x /opt/swift/usr/bin/swift ]]; then
  echo "install-deps: swift is not on PATH but exists at /opt/swift/usr/bin; add it with:" >&2
  echo "  export PATH=/opt/swift/usr/bin:\$PATH" >&2
  echo "install-deps: (deploy/test.sh and deploy/demo.sh add it themselves)" >&2
else
  echo "install-deps: WARNING: no 'swift' on PATH and none at /opt/swift/usr/bin;" >&2
  echo "  a Swift 6 toolchain is required to build (it is not a Debian package)." >&2
fi

if ((WITH_TEST_PEERS)); then
  # From PyPI: schemathesis (API tests) and kubernetes-validate (deploy/kubernetes/ against the schemas).
  for module in schemathesis:schemathesis kubernetes_validate:kubernetes-validate; do
    if python3 -c "import ${module%%:*}" 2>/dev/null; then
      echo "install-deps: ${module#*:} $(python3 -c "import importlib.metadata as m; print(m.version('${module#*:}'))") present"
    else
      echo "install-deps: pip install ${module#*:} (PyPI) for python3 at $(command -v python3)"
      python3 -m pip install --quiet --disable-pip-version-check "${module#*:}" || {
        echo "install-deps: could not install ${module#*:}; run: python3 -m pip install ${module#*:}" >&2
        exit 1
      }
    fi
  done
fi
