# Sourced by the ensure-*.sh scripts: apt-get that waits for the dpkg lock (apt's
# DPkg::Lock::Timeout, in seconds) instead of failing at once when another apt-get or
# unattended-upgrades holds it. APT_LOCK_TIMEOUT overrides the wait (default 600 s).
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT" "$@"
}
