#!/usr/bin/env bash
# Validates every manifest in deploy/kubernetes/ offline against the Kubernetes API schemas
# (kubernetes-validate from PyPI, which ships the schemas; strict: unknown fields are errors).
# The tool lives in a virtualenv under target/, made on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
KUBERNETES_VERSION=${KUBERNETES_VERSION:-1.33.0}
VENV=target/kubernetes-validate-venv
if [ ! -x "$VENV/bin/kubernetes-validate" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==1.37.0"
fi
"$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$KUBERNETES_VERSION" deploy/kubernetes/*.yaml
