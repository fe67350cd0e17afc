#!/usr/bin/env bash
# Rebuild the training data of the default model, train it and report it.
#
#   bash scripts/train_default_model.sh [WORKDIR]
#
# 1. dataset: the Materials Project table of ../shared/data/mp (CC BY 4.0),
#    the 45 groups, at most 80 atoms per cell, one structure per (reduced
#    formula, space group) (ICSD-linked, then experimental, then fewest
#    sites), at most 2,000 per group (experimental rows first): 51,165
#    structures.  Each gets its own physics (radiation, Qmax 14-40 with
#    true termination, Qmin, Qdamp, Qbroad, per-element Uiso, delta2,
#    particle size, strain; diffpy.sgpredict.physics).  About 14 minutes
#    on the 2-core machine (measured 2026-12-01; 39 on a busier one).
# 2. training: two residual CNNs that read the radiation, 30 epochs each
#    with on-the-fly noise, background, scale and truncation; 5 % of the
#    rows (whole structure types) and 5 % (random) are set aside as test
#    sets, 5 % for validation.  About 60 minutes on 2 CPU threads; a GPU
#    is used when torch finds one.
# 3. species correction: the networks (WORKDIR/network) learn what the
#    number of species says beside the PDF (fcc Ni against L1_2 Ni3Al),
#    fitted on the training rows with the networks fixed, and on
#    crystals of one element made from the training rows' compound
#    structures (zincblende of one element is diamond: the table holds no
#    element in the diamond structure; python scripts/build_decoloured.py,
#    about 1 minute), into WORKDIR/model (python
#    scripts/fit_species_head.py, about 10 minutes).
# 4. stoichiometry prior: the group counts per kind of composition,
#    without the pairs of this model's test sets, into the model folder
#    (python scripts/build_stoichiometry_prior.py, about 1.5 minutes).
# 5. search-match library: the training rows' PDFs at the paper's Table-2
#    settings (dataset build --settings table2, about 4 minutes) and the
#    crystals of one element made again at those settings (about 1.5
#    minutes) vote with the network (python
#    scripts/build_neighbour_library.py, about half a minute;
#    diffpy.sgpredict.neighbours).
# 6. report: every evaluation row (python scripts/model_report.py), and
#    the paper's protocol on the same test rows at Table-2 settings.
#
# Every step resumes where it stopped when the command is run again (the
# dataset build skips finished structures, training resumes from its
# per-epoch checkpoints, also in a later session).  Copy
# WORKDIR/model/{card.json,model.safetensors,training_set.json,heldout.json,
# stoichiometry_groups.csv,neighbours.safetensors}
# to src/diffpy/sgpredict/data/model/ to ship the result, then run
# scripts/model_report.py on the shipped folder with --write.
#
# Sizes can be changed through the environment (defaults reproduce the
# shipped model): MAX_PER_GROUP, MAX_ATOMS, EPOCHS, ENSEMBLE, MINUTES
# (training budget of this call), SHARED (the shared data folder).
set -euo pipefail
WORK=${1:-runs/default}
MAX_PER_GROUP=${MAX_PER_GROUP:-2000}
MAX_ATOMS=${MAX_ATOMS:-80}
EPOCHS=${EPOCHS:-30}
ENSEMBLE=${ENSEMBLE:-2}
MINUTES=${MINUTES:-600}
SHARED=${SHARED:-../shared/data}
JOBS=${JOBS:-2}
mkdir -p "$WORK"
diffpy.sgpredict dataset build --table "$SHARED/mp/mp_structures.csv.gz" \
    --settings physics --max-atoms "$MAX_ATOMS" \
    --max-per-group "$MAX_PER_GROUP" --seed 1 --jobs "$JOBS" \
    -o "$WORK/mp_physics.h5"
diffpy.sgpredict train "$WORK/mp_physics.h5" -o "$WORK/network" \
    --model resnet --ensemble "$ENSEMBLE" --epochs "$EPOCHS" \
    --batch-size 128 --lr 2e-3 --test-fraction 0.05 --val-fraction 0.05 \
    --patience 100 --max-minutes "$MINUTES" --seed 0
python "$(dirname "$0")/build_decoloured.py" "$WORK/network" \
    "$WORK/mp_physics.h5" --table "$SHARED/mp/mp_structures.csv.gz" \
    --jobs "$JOBS" -o "$WORK/decoloured.h5"
if [ ! -f "$WORK/model/card.json" ]; then
    SUPPLEMENT=()
    if [ -f "$WORK/decoloured.h5" ]; then
        SUPPLEMENT=(--supplement "$WORK/decoloured.h5")
    fi
    python "$(dirname "$0")/fit_species_head.py" "$WORK/network" \
        "$WORK/mp_physics.h5" "${SUPPLEMENT[@]}" -o "$WORK/model"
fi
python "$(dirname "$0")/build_stoichiometry_prior.py" \
    --table "$SHARED/mp/mp_structures.csv.gz" --model "$WORK/model" \
    --dataset "$WORK/mp_physics.h5"
diffpy.sgpredict dataset build --table "$SHARED/mp/mp_structures.csv.gz" \
    --settings table2 --max-atoms "$MAX_ATOMS" \
    --max-per-group "$MAX_PER_GROUP" --seed 1 --jobs "$JOBS" \
    -o "$WORK/mp_table2.h5"
python "$(dirname "$0")/build_decoloured.py" "$WORK/network" \
    "$WORK/mp_physics.h5" --table "$SHARED/mp/mp_structures.csv.gz" \
    --settings table2 --jobs "$JOBS" -o "$WORK/decoloured_table2.h5"
LIBRARY_SUPPLEMENT=()
if [ -f "$WORK/decoloured_table2.h5" ]; then
    LIBRARY_SUPPLEMENT=(--supplement "$WORK/decoloured_table2.h5")
fi
python "$(dirname "$0")/build_neighbour_library.py" "$WORK/model" \
    "$WORK/mp_physics.h5" "$WORK/mp_table2.h5" "${LIBRARY_SUPPLEMENT[@]}"
python "$(dirname "$0")/model_report.py" "$WORK/model" \
    --data "$WORK/mp_physics.h5" --paper-data "$WORK/mp_table2.h5" \
    --shared "$SHARED" --out "$WORK/report"
