# Node.js for this project, without root, nvm or nodejs.org: source it (bash) to put the Node
# version below first on PATH for the rest of the shell.
#
#   . scripts/node.sh && node --version && npm ci
#
# The binary comes from the npm registry's `node-linux-<arch>` package (only `bin/node`; npm
# verifies the tarball's integrity), fetched once by whatever npm the machine has and cached
# outside the clone in ${XDG_CACHE_HOME:-~/.cache}/event-service/node-<version>; later runs reuse
# it. The package brings no npm, so `npm`/`npx` stay the machine's own, but they start through
# `#!/usr/bin/env node` and so run on this Node (npm 11 supports it). .ci/run sources this file.
#
# This is the one place the Node version is pinned (the Dockerfile follows the major, node:24).
EVENT_SERVICE_NODE_VERSION=24.22.3

event_service_node() {
  local version=$EVENT_SERVICE_NODE_VERSION arch pkg dir tmp
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *) echo "scripts/node.sh: no node-linux package for $(uname -sm); install Node ${version%%.*} yourself" >&2; return 1 ;;
  esac
  pkg=node-linux-$arch
  dir=${XDG_CACHE_HOME:-$HOME/.cache}/event-service/node-$version
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null || { echo "scripts/node.sh: npm is needed to fetch $pkg@$version" >&2; return 1; }
    mkdir -p "$(dirname "$dir")"
    tmp=$(mktemp -d "$dir.tmp.XXXXXX") || return 1
    echo "scripts/node.sh: fetching $pkg@$version into $dir" >&2
    # A fresh tmp folder, renamed into place once complete: a run killed halfway, or two runs at
    # once, never leave a half-written binary behind (the loser of the rename just drops its copy).
    if (cd "$tmp" && npm pack --silent --no-fund --no-audit "$pkg@$version" >/dev/null \
          && tar -xzf "$pkg-$version.tgz" package/bin/node package/LICENSE \
          && mv package/bin package/LICENSE . && chmod 755 . \
          && rm -rf package "$pkg-$version.tgz" \
          && [ "$(bin/node --version)" = "v$version" ]); then
      mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
    else
      rm -rf "$tmp"
      echo "scripts/node.sh: could not fetch $pkg@$version" >&2
      return 1
    fi
  fi
  case ":$PATH:" in
    "$dir/bin:"*) ;;
    *) PATH="$dir/bin:$PATH" ;;
  esac
  export PATH
  hash -r
}

event_service_node
