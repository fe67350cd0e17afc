#!/usr/bin/env bash
# Rebuild the training data of the default model and train it again.
#
#   bash scripts/train_default_model.sh [WORKDIR]
#
# Two generated datasets are built side by side on the two cores:
# variants of the 221 open prototypes (seed 4, 600 per group), and
# statistics-driven crystals (seed 6) for the three groups that have no
# prototype (55 Pbam, 60 Pbcn, 176 P6_3/m).  They are merged and a
# 3-network CNN is trained on them; the model is then evaluated on the
# real structures and measured PDFs of ../shared when they are there,
# leaving out those seen in training in any form.
# Every step resumes after an interruption: run the same command again.
# Copy WORKDIR/model/{card.json,model.safetensors,training_set.json} to
# src/diffpy/sgpredict/data/model/ to ship the result.  The same command
# trains on a GPU when torch finds one.
#
# Sizes can be changed through the environment (defaults reproduce the
# shipped model): PER_GROUP (prototype variants per group), STAT_GROUP
# (statistics crystals per prototype-less group), EPOCHS, MINUTES
# (training budget), SHARED (path of the shared data folder).
set -euo pipefail
WORK=${1:-runs/default}
PER_GROUP=${PER_GROUP:-600}
STAT_GROUP=${STAT_GROUP:-700}
EPOCHS=${EPOCHS:-12}
MINUTES=${MINUTES:-45}
SHARED=${SHARED:-../shared/data}
mkdir -p "$WORK"
EXCLUDE=()
if [ -f "$SHARED/structures.csv" ]; then
    # never generate a crystal with an evaluation structure's
    # (formula, group)
    EXCLUDE=(--exclude "$SHARED/structures.csv")
fi
diffpy.sgpredict dataset build --generate "$PER_GROUP" --route prototype \
    --settings ranges --seed 4 "${EXCLUDE[@]}" --jobs 2 --quiet \
    -o "$WORK/gen_prototype.h5" &
diffpy.sgpredict dataset build --generate "$STAT_GROUP" --route statistics \
    --groups 55,60,176 --settings ranges --seed 6 "${EXCLUDE[@]}" --quiet \
    -o "$WORK/gen_statistics.h5" &
wait
diffpy.sgpredict dataset merge "$WORK/gen_prototype.h5" \
    "$WORK/gen_statistics.h5" -o "$WORK/train.h5"
diffpy.sgpredict train "$WORK/train.h5" -o "$WORK/model" \
    --filters 64 64 --kernel 32 --hidden 128 --ensemble 3 \
    --epochs "$EPOCHS" --patience 6 --monitor top6 --threads 2 \
    --max-minutes "$MINUTES" --seed 0
if [ -d "$SHARED/structures" ]; then
    diffpy.sgpredict evaluate "$WORK/model" "$SHARED/structures" \
        --csv "$SHARED/structures.csv" --exclude-training \
        --record real_structures -o "$WORK/model/eval_real"
    diffpy.sgpredict evaluate "$WORK/model" "$SHARED/exp_pdfs" \
        --csv "$SHARED/exp_pdfs.csv" --exclude-training \
        --record measured_pdfs -o "$WORK/model/eval_exp"
fi
