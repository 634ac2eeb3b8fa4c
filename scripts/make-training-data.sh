#!/usr/bin/env bash
# Makes the training and checking data of scripts/train-models.sh and scripts/check-models.sh.
# It writes them to a work folder, from the real CTs in ../shared/data, and trains nothing:
#   labels/      lung labels from `colinet label-lungs`, with an overlay PNG each (look at every
#                overlay before trusting a label),
#   lesions/     CTs with simulated COVID-19 lesions from `colinet simulate-lesions` and their
#                exact lesion masks, and all-zero lesion masks for the lesion-free scans,
#   *-manifest.csv  the training manifests of the lung, lung-with-lesions and lesion runs.
# Usage: scripts/make-training-data.sh [work folder, default runs/models]   (about 2 minutes on 2 cores)
# The step numbers are those of scripts/train-models.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(cd ../shared/data/ct && pwd)
mkdir -p "${1:-runs/models}"
WORK=$(cd "${1:-runs/models}" && pwd)
COLINET="node $PWD/bin/colinet.js"
mkdir -p "$WORK/labels" "$WORK/lesions"

# 1. Lung labels.
label() { $COLINET label-lungs "$2" -o "$WORK/labels/$1-lung.nii.gz" --overlay "$WORK/labels/$1-lung.png" --force; }
label cip-ct64 "$DATA/cip/ct-64.nrrd"
label cip-testinput "$DATA/cip/TestInput.nrrd"
label A0001-a "$DATA/lung-pet-ct-dx/A0001-5mm-a"
label A0001-b "$DATA/lung-pet-ct-dx/A0001-5mm-b"
label A0002-B70f "$DATA/lung-pet-ct-dx/A0002-8mm-B70f"
label A0002-B40f "$DATA/lung-pet-ct-dx/A0002-8mm-B40f"

L=$WORK/labels
cat > "$WORK/lung-manifest.csv" <<CSV
image,label,patient,centre
$DATA/cip/TestInput.nrrd,$L/cip-testinput-lung.nii.gz,CIP-TestInput,CIP
$DATA/lung-pet-ct-dx/A0001-5mm-a,$L/A0001-a-lung.nii.gz,A0001,Lung-PET-CT-Dx
$DATA/lung-pet-ct-dx/A0001-5mm-b,$L/A0001-b-lung.nii.gz,A0001,Lung-PET-CT-Dx
$DATA/lung-pet-ct-dx/A0002-8mm-B70f,$L/A0002-B70f-lung.nii.gz,A0002,Lung-PET-CT-Dx
$DATA/lung-pet-ct-dx/A0002-8mm-B40f,$L/A0002-B40f-lung.nii.gz,A0002,Lung-PET-CT-Dx
CSV

# 3. Simulated lesions (percent of lung affected, seed) per series, and the lesion-free originals.
G=$WORK/lesions
simulate() { $COLINET simulate-lesions "$2" --lung "$3" -o "$G/$1-p$4-ct.nii.gz" --lesion-output "$G/$1-p$4-lesion.nii.gz" --percent "$4" --seed "$5" --force; }
for p in 3 10 25 50; do simulate testinput "$DATA/cip/TestInput.nrrd" "$L/cip-testinput-lung.nii.gz" $p $((p + 1)); done
for p in 4 12 30; do simulate A0001-a "$DATA/lung-pet-ct-dx/A0001-5mm-a" "$L/A0001-a-lung.nii.gz" $p $((p + 2)); done
for p in 6 18 45; do simulate A0001-b "$DATA/lung-pet-ct-dx/A0001-5mm-b" "$L/A0001-b-lung.nii.gz" $p $((p + 3)); done
for p in 5 20 40; do simulate A0002-B70f "$DATA/lung-pet-ct-dx/A0002-8mm-B70f" "$L/A0002-B70f-lung.nii.gz" $p $((p + 4)); done
for p in 8 30; do simulate A0002-B40f "$DATA/lung-pet-ct-dx/A0002-8mm-B40f" "$L/A0002-B40f-lung.nii.gz" $p $((p + 5)); done
for p in 5 15 35; do simulate cip64 "$DATA/cip/ct-64.nrrd" "$DATA/cip/wholeLung-64.nrrd" $p $((p + 6)); done
npx tsx scripts/empty-masks.ts "$L" "$G" cip-testinput A0001-a A0001-b A0002-B70f A0002-B40f

{
  echo "image,label,patient,centre"
  for p in 3 10 25 50; do echo "$G/testinput-p$p-ct.nii.gz,$G/testinput-p$p-lesion.nii.gz,CIP-TestInput,CIP"; done
  echo "$DATA/cip/TestInput.nrrd,$G/cip-testinput-none-lesion.nii.gz,CIP-TestInput,CIP"
  for p in 4 12 30; do echo "$G/A0001-a-p$p-ct.nii.gz,$G/A0001-a-p$p-lesion.nii.gz,A0001,Lung-PET-CT-Dx"; done
  echo "$DATA/lung-pet-ct-dx/A0001-5mm-a,$G/A0001-a-none-lesion.nii.gz,A0001,Lung-PET-CT-Dx"
  for p in 6 18 45; do echo "$G/A0001-b-p$p-ct.nii.gz,$G/A0001-b-p$p-lesion.nii.gz,A0001,Lung-PET-CT-Dx"; done
  echo "$DATA/lung-pet-ct-dx/A0001-5mm-b,$G/A0001-b-none-lesion.nii.gz,A0001,Lung-PET-CT-Dx"
  for p in 5 20 40; do echo "$G/A0002-B70f-p$p-ct.nii.gz,$G/A0002-B70f-p$p-lesion.nii.gz,A0002,Lung-PET-CT-Dx"; done
  echo "$DATA/lung-pet-ct-dx/A0002-8mm-B70f,$G/A0002-B70f-none-lesion.nii.gz,A0002,Lung-PET-CT-Dx"
  for p in 8 30; do echo "$G/A0002-B40f-p$p-ct.nii.gz,$G/A0002-B40f-p$p-lesion.nii.gz,A0002,Lung-PET-CT-Dx"; done
  echo "$DATA/lung-pet-ct-dx/A0002-8mm-B40f,$G/A0002-B40f-none-lesion.nii.gz,A0002,Lung-PET-CT-Dx"
} > "$WORK/lesion-manifest.csv"

# 4. The manifest of the lung network fine-tuned on scans with simulated lesions as well, whose
#    lung label is the unaltered scan's (the lesions lie inside it).
{
  echo "image,label,patient,centre"
  grep -v '^image' "$WORK/lung-manifest.csv"
  for p in 3 10 25 50; do echo "$G/testinput-p$p-ct.nii.gz,$L/cip-testinput-lung.nii.gz,CIP-TestInput,CIP"; done
  for p in 4 12 30; do echo "$G/A0001-a-p$p-ct.nii.gz,$L/A0001-a-lung.nii.gz,A0001,Lung-PET-CT-Dx"; done
  for p in 6 18 45; do echo "$G/A0001-b-p$p-ct.nii.gz,$L/A0001-b-lung.nii.gz,A0001,Lung-PET-CT-Dx"; done
  for p in 5 20 40; do echo "$G/A0002-B70f-p$p-ct.nii.gz,$L/A0002-B70f-lung.nii.gz,A0002,Lung-PET-CT-Dx"; done
  for p in 8 30; do echo "$G/A0002-B40f-p$p-ct.nii.gz,$L/A0002-B40f-lung.nii.gz,A0002,Lung-PET-CT-Dx"; done
} > "$WORK/lung-lesion-manifest.csv"

# 7. More lesion variety on the same training patients: new seeds, more low-burden cases, other
#    mixes of consolidation and crazy paving.
variant() { $COLINET simulate-lesions "$2" --lung "$3" -o "$G/$1-p$4s$5-ct.nii.gz" --lesion-output "$G/$1-p$4s$5-lesion.nii.gz" \
  --percent "$4" --seed "$5" --consolidation "$6" --crazy-paving "$7" --force; }
TI=("$DATA/cip/TestInput.nrrd" "$L/cip-testinput-lung.nii.gz")
A1A=("$DATA/lung-pet-ct-dx/A0001-5mm-a" "$L/A0001-a-lung.nii.gz")
A1B=("$DATA/lung-pet-ct-dx/A0001-5mm-b" "$L/A0001-b-lung.nii.gz")
VARIANTS=(
  "testinput ${TI[*]} 2 21 0.15 0.40" "testinput ${TI[*]} 6 22 0.40 0.10" "testinput ${TI[*]} 15 23 0.10 0.50"
  "testinput ${TI[*]} 35 24 0.35 0.25" "A0001-a ${A1A[*]} 2 31 0.15 0.40" "A0001-a ${A1A[*]} 7 32 0.35 0.15"
  "A0001-a ${A1A[*]} 16 33 0.10 0.45" "A0001-a ${A1A[*]} 60 34 0.30 0.25" "A0001-b ${A1B[*]} 3 41 0.20 0.30"
  "A0001-b ${A1B[*]} 9 42 0.40 0.10" "A0001-b ${A1B[*]} 14 43 0.10 0.50" "A0001-b ${A1B[*]} 25 44 0.25 0.35"
)
{
  cat "$WORK/lesion-manifest.csv"
  for v in "${VARIANTS[@]}"; do
    read -r name ct lung p seed cons crazy <<< "$v"
    variant "$name" "$ct" "$lung" "$p" "$seed" "$cons" "$crazy" >&2
    case $name in testinput) patient=CIP-TestInput centre=CIP ;; *) patient=A0001 centre=Lung-PET-CT-Dx ;; esac
    echo "$G/$name-p${p}s$seed-ct.nii.gz,$G/$name-p${p}s$seed-lesion.nii.gz,$patient,$centre"
  done
} > "$WORK/lesion-more-manifest.csv"
