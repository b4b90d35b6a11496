#!/usr/bin/env bash
# Validates the Kubernetes manifests offline: every resource in deploy/kubernetes/*.yaml (or in
# the files given) against the JSON schemas of Kubernetes $SSEBENCH_K8S_VERSION (default 1.33: the
# sidecar Job's native sidecar containers are GA from 1.33), strictly (an unknown field is an
# error). Contacts no cluster: the schemas ship inside the PyPI package kubernetes-validate,
# installed (pinned) into a venv under target/ when missing.
#
#   scripts/validate-k8s.sh              # deploy/kubernetes/*.yaml, and the checks below
#   scripts/validate-k8s.sh FILE.yaml... # those files only (schemas only)
#
# Fails (exit 1) on a resource that does not validate, on a kind or API version the schemas do not
# know (kubernetes-validate only warns there), and on a file with no resource. On the shipped
# manifests it also checks what schemas cannot: the scenario ConfigMap holds
# scenarios/sharded-45k.toml verbatim, and each shards Job is Indexed with completions and
# parallelism equal to SHARDS in the ssebench-run ConfigMap.
set -euo pipefail
cd "$(dirname "$0")/.."

k8s_version=${SSEBENCH_K8S_VERSION:-1.33.0}
validator_version=1.37.0
venv=target/validate-k8s-venv

if [ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null || true)" != "$validator_version" ]; then
  echo "installing kubernetes-validate $validator_version into $venv" >&2
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 needs python3-venv for `-m venv`.
    rm -rf "$venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$validator_version"
fi

shipped=0
if [ $# -eq 0 ]; then
  shipped=1
  set -- deploy/kubernetes/*.yaml
fi

failed=0
for f in "$@"; do
  out=$("$venv/bin/kubernetes-validate" --strict --kubernetes-version "$k8s_version" "$f" 2>&1) || failed=1
  [ -z "$out" ] || printf '%s\n' "$out"
  if grep -q '^WARN' <<< "$out"; then
    echo "ERROR $f: a resource the schemas of Kubernetes $k8s_version do not know" >&2
    failed=1
  elif ! grep -q '^\(INFO\|ERROR\) ' <<< "$out"; then
    echo "ERROR $f: no Kubernetes resource in it" >&2
    failed=1
  fi
done

if [ "$shipped" = 1 ]; then
  "$venv/bin/python" - <<'EOF' || failed=1
import glob, sys, yaml

docs = {}
for path in sorted(glob.glob("deploy/kubernetes/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        if doc:
            docs.setdefault((doc["kind"], doc["metadata"]["name"]), []).append((path, doc))

errors = []
scenario = docs[("ConfigMap", "ssebench-scenario")][0][1]["data"]["scenario.toml"]
if scenario != open("scenarios/sharded-45k.toml").read():
    errors.append("deploy/kubernetes/scenario-configmap.yaml: scenario.toml differs from "
                  "scenarios/sharded-45k.toml (copy it again)")
shards = int(docs[("ConfigMap", "ssebench-run")][0][1]["data"]["SHARDS"])
for path, job in docs.get(("Job", "ssebench-shards"), []):
    spec = job["spec"]
    found = (spec.get("completionMode"), spec.get("completions"), spec.get("parallelism"))
    if found != ("Indexed", shards, shards):
        errors.append(f"{path}: completionMode, completions, parallelism are {found}, "
                      f"expected ('Indexed', {shards}, {shards}) (SHARDS in run-configmap.yaml)")
if not docs.get(("Job", "ssebench-shards")):
    errors.append("deploy/kubernetes: no Job named ssebench-shards")
for e in errors:
    print("ERROR " + e)
if errors:
    sys.exit(1)
print("INFO the scenario ConfigMap is scenarios/sharded-45k.toml; the shards Jobs are Indexed, "
      f"{shards} of {shards}")
EOF
fi

if [ "$failed" != 0 ]; then
  echo "manifests: INVALID (Kubernetes $k8s_version, kubernetes-validate $validator_version)" >&2
  exit 1
fi
echo "manifests: valid against Kubernetes $k8s_version (kubernetes-validate $validator_version, strict)"
