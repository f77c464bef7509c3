# Sourced by the ensure-*.sh scripts that need an npm package: `npm_pinned DIR PACKAGE VERSION FILE`
# installs PACKAGE@VERSION into the git-ignored DIR (npm from Debian's packages when missing, as
# root) unless DIR/node_modules/PACKAGE is already that version; FILE (under the package) must exist.
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

npm_pinned() {
  local dir="$1" package="$2" version="$3" file="$4"
  local installed="$dir/node_modules/$package"
  if [ -f "$installed/$file" ] && grep -q "\"version\": \"$version\"" "$installed/package.json"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "npm is missing and installing it needs root: run 'sudo apt-get install -y npm'" >&2
      return 1
    fi
    apt_get update -qq
    apt_get install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$dir"
  echo "installing $package $version into $dir..."
  npm install --silent --no-audit --no-fund --prefix "$dir" "$package@$version"
  test -f "$installed/$file"
}
