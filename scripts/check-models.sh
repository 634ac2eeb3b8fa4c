#!/usr/bin/env bash
# Checks the models in models/ on patients not used to train them, with colinet evaluate:
#   - lung on CIP ct-64 against its reference mask (a patient never used in training) and on
#     A0002 (validation patient) against its checked label-lungs labels;
#   - lesion on CIP ct-64 with simulated lesions (5, 15 and 35 % of the lung) against their masks,
#     and on the validation patient A0002's scans with simulated lesions (these chose the models);
#   - lesion volume found on the lesion-free scans (false positives).
# Expects the work folder of scripts/train-models.sh (labels/ and lesions/ in it).
# Usage: scripts/check-models.sh [work folder, default runs/models]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$PWD/../shared/data/ct
WORK=$(cd "${1:-runs/models}" && pwd)
OUT=$WORK/check
COLINET="node $PWD/bin/colinet.js"
rm -rf "$OUT"
mkdir -p "$OUT"

segment() { $COLINET segment "$2" -o "$OUT/$1" --quiet --force > /dev/null; }
segment cip64 "$DATA/cip/ct-64.nrrd"
segment A0002-B70f "$DATA/lung-pet-ct-dx/A0002-8mm-B70f"
segment A0002-B40f "$DATA/lung-pet-ct-dx/A0002-8mm-B40f"
segment A0001-a "$DATA/lung-pet-ct-dx/A0001-5mm-a"
segment testinput "$DATA/cip/TestInput.nrrd"
for p in 5 15 35; do segment cip64-p$p "$WORK/lesions/cip64-p$p-ct.nii.gz"; done
VALIDATION="A0002-B70f-p5 A0002-B70f-p20 A0002-B70f-p40 A0002-B40f-p8 A0002-B40f-p30"
for c in $VALIDATION; do segment "$c" "$WORK/lesions/$c-ct.nii.gz"; done

{
  echo "case,centre,ct,pred_lung,ref_lung,pred_lesion,ref_lesion"
  echo "cip64,CIP,$DATA/cip/ct-64.nrrd,$OUT/cip64/lung.nii.gz,$DATA/cip/wholeLung-64.nrrd,,"
  for p in 5 15 35; do
    echo "cip64-p$p,CIP simulated,$WORK/lesions/cip64-p$p-ct.nii.gz,$OUT/cip64-p$p/lung.nii.gz,$DATA/cip/wholeLung-64.nrrd,$OUT/cip64-p$p/lesion.nii.gz,$WORK/lesions/cip64-p$p-lesion.nii.gz"
  done
  for s in B70f B40f; do
    echo "A0002-$s,Lung-PET-CT-Dx,,$OUT/A0002-$s/lung.nii.gz,$WORK/labels/A0002-$s-lung.nii.gz,,"
  done
  for c in $VALIDATION; do
    echo "$c,Lung-PET-CT-Dx simulated (validation),$WORK/lesions/$c-ct.nii.gz,$OUT/$c/lung.nii.gz,$WORK/labels/${c%-p*}-lung.nii.gz,$OUT/$c/lesion.nii.gz,$WORK/lesions/$c-lesion.nii.gz"
  done
} > "$OUT/cohort.csv"
$COLINET evaluate --cohort "$OUT/cohort.csv" -o "$OUT/results" --no-radiomics

echo "lesion volume found on lesion-free scans (false positives):"
for c in cip64 A0002-B70f A0002-B40f A0001-a testinput; do
  node -e "const r = require('$OUT/$c/report.json'); console.log('  $c', r.measurements.lesionVolumeMl.total.toFixed(2), 'mL of', r.measurements.lungVolumeMl.total.toFixed(0), 'mL lung')"
done
echo "results: $OUT/results (summary.csv, cases.csv, report.md); overviews: $OUT/*/overview.png"
