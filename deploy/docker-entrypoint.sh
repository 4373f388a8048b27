#!/bin/sh
# Every process of a container writes Prometheus samples to PROMETHEUS_MULTIPROC_DIR; files of
# a previous run (a restarted container keeps its emptyDir) would be counted again.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec "$@"
