# Sourced by scripts/test.sh: installs ClamAV's daemon for the malware
# scanner's tests, which start their own clamd with a private signature
# database (internal/scanner/clamdtest). Nothing here runs clamd or freshclam:
# the tests need no signatures from the internet, and a daemon left running,
# or a freshclam trying to reach database.clamav.net, would only get in the way.
# Needs log, as_root and apt_install from test.sh.

# install_clamd installs Debian's clamav-daemon without starting anything:
#  - freshclam is configured "manual" before its package is configured, so
#    its postinst neither enables the freshclam daemon nor installs a cron job;
#  - a policy-rc.d that refuses every action (unless the machine has one, as
#    Docker images do) keeps the postinsts from starting clamd, the freshclam
#    daemon, or a one-off freshclam download ("manual" runs one otherwise).
# clamd's own service stays installed but does not start without the official
# databases, which are never downloaded (ConditionPathExistsGlob in its unit,
# a check in its init script).
install_clamd() {
  log "installing clamav-daemon from Debian's packages (no freshclam, no daemon started)"
  echo 'clamav-freshclam clamav-freshclam/autoupdate_freshclam select manual' | as_root debconf-set-selections 2>/dev/null || true
  local policy=/usr/sbin/policy-rc.d added="" status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# Added by enclave scripts/clamd.sh while installing clamav-daemon.\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
    added=1
  fi
  apt_install clamav-daemon || status=$?
  if [ -n "$added" ]; then as_root rm -f "$policy"; fi
  return "$status"
}

# ensure_clamd installs clamd when it is missing and tells the tests where it is.
ensure_clamd() {
  if [ ! -x /usr/sbin/clamd ]; then
    install_clamd
  fi
  export ENCLAVE_TEST_CLAMD=/usr/sbin/clamd
  export ENCLAVE_TEST_REQUIRE_CLAMD=1
}
