#!/bin/sh
# The `mlcube` command (the package's bin, copied to dist/mlcube by the build): starts Node.js on dist/mlcube.cjs.
#
# Why a shell script: Node.js 20 reads and parses the file named by NODE_EXTRA_CA_CERTS at every start, before any
# JavaScript runs (60-80 ms for Debian's CA bundle; nodejs/node#40524), and `mlcube run` would pay that on top of
# the task, which pays it too. mlcube itself opens TLS connections only to a Docker daemon over https, and that
# client is given the same extra CAs explicitly (src/tls-trust.ts). So Node starts without the variable, and the
# launcher puts it back at once: tasks, docker, sbatch... get the environment as given.
if [ -n "${NODE_EXTRA_CA_CERTS+set}" ]; then
  MLCUBE_NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS
  export MLCUBE_NODE_EXTRA_CA_CERTS
  unset NODE_EXTRA_CA_CERTS
fi
self=$0
case $self in */*) ;; *) self=./$self ;; esac # `sh mlcube` in dist/
# npm installs the bin as a symlink (node_modules/.bin/mlcube, <prefix>/bin/mlcube): find dist/ through it
# (plain readlink, one link at a time: `readlink -f` is missing from older macOS).
while [ -L "$self" ]; do
  link=$(readlink -- "$self")
  case $link in
    /*) self=$link ;;
    *) self=${self%/*}/$link ;;
  esac
done
exec node "${self%/*}/mlcube.cjs" "$@"
