#!/bin/sh
# One retraining cycle, cron-able: Envoy's access log -> `aiwaf train` -> `aiwaf push`.
# Envoy (envoy-config/envoy-ecds.yaml) reloads the pushed bundle without a restart; a bundle
# the filter would refuse is never pushed, and a failed training writes nothing, so the
# bundle in force stays.
#
#   */15 * * * * cd /srv/aiwaf-proxy && envoy-config/retrain.sh >> /var/log/aiwaf-retrain.log 2>&1
#
# Every path can be overridden from the environment (defaults: the repository layout).
set -eu
AIWAF="${AIWAF:-target/release/aiwaf}"
POLICY="${POLICY:-.aiwaf/policy.json}"
LOGS="${LOGS:-target/envoy-access.log}"
ECDS="${ECDS:-envoy-config/aiwaf-filter.json}"
OUT="${OUT:-target/aiwaf-bundle.json}"

if [ -f "$POLICY" ]; then
    # shellcheck disable=SC2086 # LOGS may hold several files or globs
    "$AIWAF" train --policy "$POLICY" --out "$OUT" $LOGS
else
    # shellcheck disable=SC2086
    "$AIWAF" train --out "$OUT" $LOGS
fi
"$AIWAF" push "$OUT" --ecds "$ECDS"
