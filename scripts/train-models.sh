#!/usr/bin/env bash
# Reproduces models/lung.onnx and models/lesion.onnx from the real CTs in ../shared/data:
#   1. lung labels with `colinet label-lungs` (look at each overlay before trusting it),
#   2. the lung network trained from scratch (fast setting: 8/16/32 channels, 148 x 108 input),
#   3. simulated COVID-19 lesions inserted with `colinet simulate-lesions`,
#   4. the lung network fine-tuned on the scans with simulated lesions as well, so that dense
#      consolidation stays inside the lung (the lung labels already contain the lesions),
#   5. the lesion network fine-tuned from the lung network of step 2 (every weight copied, all
#      trained), then trained on at a lower learning rate,
#   6. both networks exported,
#   7. twelve more simulated cases on the training patients, and the lesion network trained on
#      with them in two runs,
#   8. the last epoch of step 7's second run exported as the lesion model.
# Patients: CIP TestInput and A0001 train, A0002 validates (selects the best epoch), and CIP
# ct-64 (with its reference lung mask) is never seen in training: it is the held-out test.
# Usage: scripts/train-models.sh [work folder, default runs/models]   (about 6 hours on 2 cores)
# The shipped models were made with the work folder /work/gen. The run folders in models/runs/
# record their settings, and they can be resumed once the work folder is rebuilt at that path.
# Step 1 now adds solid masses at the pleura to the labels, which changes the A0002 labels (the
# lung runs were validated against labels without its mass) and no training label.
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

# 2. Lung network: 19 epochs, a copy of that run (its best epoch, 18, seeds the lesion network),
#    then the same run resumed (the shipped model is its best epoch).
$COLINET train --task lung --data "$WORK/lung-manifest.csv" -o "$WORK/runs/lung" --validation-patients A0002 \
  --channels 8,16,32 --input-size 148x108 --epochs 19 --batch-size 16 --validate-every 2 --seed 1
cp -r "$WORK/runs/lung" "$WORK/runs/lung-epoch18"
$COLINET train --resume "$WORK/runs/lung" --epochs 37 --threads 1

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

# 4. Lung network fine-tuned from step 2's best epoch on the unaltered scans and the scans with
#    simulated lesions, whose lung label is the unaltered scan's (the lesions lie inside it).
{
  echo "image,label,patient,centre"
  grep -v '^image' "$WORK/lung-manifest.csv"
  for p in 3 10 25 50; do echo "$G/testinput-p$p-ct.nii.gz,$L/cip-testinput-lung.nii.gz,CIP-TestInput,CIP"; done
  for p in 4 12 30; do echo "$G/A0001-a-p$p-ct.nii.gz,$L/A0001-a-lung.nii.gz,A0001,Lung-PET-CT-Dx"; done
  for p in 6 18 45; do echo "$G/A0001-b-p$p-ct.nii.gz,$L/A0001-b-lung.nii.gz,A0001,Lung-PET-CT-Dx"; done
  for p in 5 20 40; do echo "$G/A0002-B70f-p$p-ct.nii.gz,$L/A0002-B70f-lung.nii.gz,A0002,Lung-PET-CT-Dx"; done
  for p in 8 30; do echo "$G/A0002-B40f-p$p-ct.nii.gz,$L/A0002-B40f-lung.nii.gz,A0002,Lung-PET-CT-Dx"; done
} > "$WORK/lung-lesion-manifest.csv"
$COLINET train --task lung --data "$WORK/lung-lesion-manifest.csv" -o "$WORK/runs/lung-lesions" --validation-patients A0002 \
  --init "$WORK/runs/lung" --channels 8,16,32 --input-size 148x108 --epochs 26 --batch-size 16 \
  --steps-per-epoch 20 --validate-every 3 --lr 0.0005 --seed 3 --threads 1

# 5. Lesion network, fine-tuned from the lung network of step 2 (every weight copied, all trained),
#    then from that run's last checkpoint at a fifth of the learning rate. (The shipped run was
#    stopped by its time budget 19 steps into epoch 36; its last.ckpt, in models/runs/lesion, is
#    where the second run started.)
$COLINET train --task lesion --data "$WORK/lesion-manifest.csv" -o "$WORK/runs/lesion" --validation-patients A0002 \
  --init "$WORK/runs/lung-epoch18" --channels 8,16,32 --input-size 148x108 --epochs 35 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --seed 2
$COLINET train --task lesion --data "$WORK/lesion-manifest.csv" -o "$WORK/runs/lesion-cool" --validation-patients A0002 \
  --init "$WORK/runs/lesion/last.ckpt" --channels 8,16,32 --input-size 148x108 --epochs 9 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0002 --seed 4 --threads 1

# 6. The models shipped before step 7: the best epoch of the last lung and lesion runs
#    (lung-lesions epoch 24, lesion-cool epoch 6). Among the lesion candidates (lesion epoch 24,
#    lesion-cool epochs 6 and 9) this one had the highest mean 3D lesion Dice on the validation
#    patient's scans. The lung model is still the shipped one; step 8 replaces the lesion model.
$COLINET train --export "$WORK/runs/lung-lesions" -o models/lung.onnx --force
$COLINET train --export "$WORK/runs/lesion-cool" -o models/lesion.onnx --force
# 7. More lesion variety on the same training patients: new seeds, more low-burden cases, other
#    mixes of consolidation and crazy paving. The lesion network is trained on from step 5's
#    shipped checkpoint on the larger set, 19 epochs at learning rate 0.0005, then 16 at 0.0001.
#    (The recorded first run was stopped 2 steps into epoch 20. Its last.ckpt, in
#    models/runs/lesion-more, is where the second run started.)
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
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-more" --validation-patients A0002 \
  --init "$WORK/runs/lesion-cool" --channels 8,16,32 --input-size 148x108 --epochs 19 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0005 --seed 5
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-more-cool" --validation-patients A0002 \
  --init "$WORK/runs/lesion-more/last.ckpt" --channels 8,16,32 --input-size 148x108 --epochs 16 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0001 --seed 6 --max-hours 0.8

# 8. The shipped lesion model: the last epoch (16) of the second run of step 7. Of the candidates
#    (step 5's model, step 7's first-run best epoch 4, second-run best epoch 2 and last epoch 16)
#    it had the highest mean 3D lesion Dice on the validation patient's five scans (0.676
#    against 0.652, 0.656 and 0.662).
$COLINET train --export "$WORK/runs/lesion-more-cool" --checkpoint last -o models/lesion.onnx --force

echo "models: models/lung.onnx and models/lesion.onnx; check them with scripts/check-models.sh $WORK"
