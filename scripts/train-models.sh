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
#   8. the last epoch of step 7's second run exported as the lesion model (shipped before step 9),
#   9. the lesion network trained on with a cross-entropy term added to the Dice loss, in two runs,
#  10. the best epoch of step 9's second run exported as the lesion model (shipped before step 11),
#  11. the lesion network trained on at the COLI-Net input size, 296 x 216, and its best epoch
#      exported with a probability threshold of 0.6 as the lesion model.
# Patients: CIP TestInput and A0001 train, A0002 validates (selects the best epoch), and CIP
# ct-64 (with its reference lung mask) is never seen in training: it is the held-out test.
# Usage: scripts/train-models.sh [work folder, default runs/models]   (about 9 hours on 2 cores)
# The shipped models were made with the work folder /work/gen. The run folders in models/runs/
# record their settings, and they can be resumed once the work folder is rebuilt at that path
# with scripts/make-training-data.sh /work/gen (steps 1, 3 and the data of 7, no training).
# Step 1 now adds solid masses at the pleura to the labels, which changes the A0002 labels (the
# lung runs were validated against labels without its mass) and no training label.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p "${1:-runs/models}"
WORK=$(cd "${1:-runs/models}" && pwd)
COLINET="node $PWD/bin/colinet.js"

# 1, 3 and the data of 7: lung labels, simulated lesions and the training manifests.
scripts/make-training-data.sh "$WORK"

# 2. Lung network: 19 epochs, a copy of that run (its best epoch, 18, seeds the lesion network),
#    then the same run resumed (the shipped model is its best epoch).
$COLINET train --task lung --data "$WORK/lung-manifest.csv" -o "$WORK/runs/lung" --validation-patients A0002 \
  --channels 8,16,32 --input-size 148x108 --epochs 19 --batch-size 16 --validate-every 2 --seed 1
cp -r "$WORK/runs/lung" "$WORK/runs/lung-epoch18"
$COLINET train --resume "$WORK/runs/lung" --epochs 37 --threads 1

# 4. Lung network fine-tuned from step 2's best epoch on the unaltered scans and the scans with
#    simulated lesions, whose lung label is the unaltered scan's (the lesions lie inside it).
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
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-more" --validation-patients A0002 \
  --init "$WORK/runs/lesion-cool" --channels 8,16,32 --input-size 148x108 --epochs 19 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0005 --seed 5
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-more-cool" --validation-patients A0002 \
  --init "$WORK/runs/lesion-more/last.ckpt" --channels 8,16,32 --input-size 148x108 --epochs 16 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0001 --seed 6 --max-hours 0.8

# 8. The lesion model shipped before step 9: the last epoch (16) of the second run of step 7. Of the candidates
#    (step 5's model, step 7's first-run best epoch 4, second-run best epoch 2 and last epoch 16)
#    it had the highest mean 3D lesion Dice on the validation patient's five scans (0.676
#    against 0.652, 0.656 and 0.662).
$COLINET train --export "$WORK/runs/lesion-more-cool" --checkpoint last -o models/lesion.onnx --force

# 9. Cross-entropy added to the Dice loss against scattered false positives: from step 8's model,
#    30 epochs at learning rate 0.0002 with weight 1, then 30 epochs at 0.0001 with weight 3.
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-ce" --validation-patients A0002 \
  --init "$WORK/runs/lesion-more-cool/last.ckpt" --channels 8,16,32 --input-size 148x108 --epochs 30 --batch-size 16 \
  --validate-every 3 --steps-per-epoch 20 --lr 0.0002 --seed 8 --cross-entropy 1 --max-hours 0.6
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-ce3" --validation-patients A0002 \
  --init "$WORK/runs/lesion-ce/last.ckpt" --channels 8,16,32 --input-size 148x108 --epochs 30 --batch-size 16 \
  --validate-every 3 --steps-per-epoch 20 --lr 0.0001 --seed 9 --cross-entropy 3 --max-hours 0.5

# 10. The shipped lesion model: the best epoch (18) of the second run of step 9. The candidates
#     were measured on the validation patient, with data remade by make-training-data.sh: the
#     mean 3D lesion Dice of its five scans with lesions, then the false-positive lesion volume
#     of its two lesion-free scans.
#       step 8's model                0.675  (28.7 and 22.4 mL)
#       step 9, first run, epoch 30   0.680  (24.9 and 15.7 mL)
#       step 9, second run, epoch 18  0.679  (19.4 and 12.5 mL)
#       step 9, second run, epoch 30  0.685  (27.1 and 18.8 mL)
#     The Dice of step 9's candidates lie within 0.006, so the smallest false-positive volume chose.
$COLINET train --export "$WORK/runs/lesion-ce3" -o models/lesion.onnx --force

echo "models: models/lung.onnx and models/lesion.onnx; check them with scripts/check-models.sh $WORK"

# 11. The lesion network at 296 x 216, the COLI-Net slice size, from step 10's model, at learning
#     rate 0.0001 with cross-entropy weight 3. The convolution weights do not depend on the slice
#     size. The lung network stays at 148 x 108, and segment crops and resizes the slices for each
#     network. The recorded run was made in three sittings stopped by --max-hours (after
#     epochs 21, 28 and 51, the second with 1 thread) and resumed. The schedule depends only on
#     the step count, so one run of 51 epochs follows the same course. Its best epoch, 48, is the
#     shipped model. It was chosen at threshold 0.8 among epochs 39 (last), 42, 44 and 48 by mean
#     3D lesion Dice on the validation patient: 0.745, 0.748, 0.754 and 0.758. Their false
#     positives on its lesion-free scans were 19.4/14.8, 22.6/18.1, 23.2/17.0 and 16.5/12.8 mL. The
#     threshold of 0.6 was then chosen with segment's minimum lesion region of 2 mL and its mirror
#     averaging of the lesion network (models/lesion.md gives the grid). It scored 0.781 with
#     11.4/8.8 mL. At 0.7 without mirror averaging: 0.772 with 10.2/7.7 mL. At 0.8 with neither:
#     0.757 with 16.5/12.8 mL.
$COLINET train --task lesion --data "$WORK/lesion-more-manifest.csv" -o "$WORK/runs/lesion-296" --validation-patients A0002 \
  --init "$WORK/runs/lesion-ce3" --channels 8,16,32 --input-size 296x216 --epochs 51 --batch-size 16 \
  --validate-every 2 --steps-per-epoch 20 --lr 0.0001 --seed 12 --cross-entropy 3
$COLINET train --export "$WORK/runs/lesion-296" --threshold 0.6 -o models/lesion.onnx --force
