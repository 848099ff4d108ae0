# Sourced by the setup scripts: installs Debian packages, as root or through sudo, quietly. Options such as
# --no-install-recommends go first, as apt-get takes them.
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
