#!/usr/bin/env bash
# Rebuild the training data of the default model and train it again.
#
#   bash scripts/train_default_model.sh [WORKDIR]
#
# Two generated datasets (seeds 1 and 2, both routes, PDF settings drawn
# per sample) are built side by side on the two cores, merged, and a
# 2-network CNN is trained on them; the model is then evaluated on the
# real structures and measured PDFs of ../shared when they are there.
# Every step resumes after an interruption: run the same command again.
# Copy WORKDIR/model/{card.json,model.safetensors,training_set.json} to
# src/diffpy/sgpredict/data/model/ to ship the result.
#
# Sizes can be changed through the environment (defaults reproduce the
# shipped model): LIMIT1, LIMIT2 (work items of each build), EPOCHS,
# MINUTES (training budget), SHARED (path of the shared data folder).
set -euo pipefail
WORK=${1:-runs/default}
LIMIT1=${LIMIT1:-14144}
LIMIT2=${LIMIT2:-10944}
EPOCHS=${EPOCHS:-14}
MINUTES=${MINUTES:-26}
SHARED=${SHARED:-../shared/data}
mkdir -p "$WORK"
EXCLUDE=()
if [ -f "$SHARED/structures.csv" ]; then
    # keep the evaluation structures' (formula, group) out of training
    EXCLUDE=(--exclude "$SHARED/structures.csv")
fi
for seed in 1 2; do
    limit=$LIMIT1; [ "$seed" = 2 ] && limit=$LIMIT2
    diffpy.sgpredict dataset build --generate 500 --route both \
        --settings ranges --seed "$seed" "${EXCLUDE[@]}" --limit "$limit" \
        --quiet -o "$WORK/gen_seed$seed.h5" &
done
wait
diffpy.sgpredict dataset merge "$WORK/gen_seed1.h5" "$WORK/gen_seed2.h5" \
    -o "$WORK/train.h5"
diffpy.sgpredict train "$WORK/train.h5" -o "$WORK/model" \
    --filters 64 64 --kernel 32 --hidden 128 --ensemble 2 \
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
