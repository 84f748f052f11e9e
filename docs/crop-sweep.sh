#!/usr/bin/env bash
# Does a FER2013-trained model want a wider demo crop than CK+48's framing
# (--crop 1.0)? FER2013's faces measure 1.09 +- 0.27 detector boxes
# (build/margin), CK+48's 0.97. build/crop_sweep pastes each face into a
# frame, detects it and classifies the crop at each factor, as bin/demo does.
# Output: docs/crop-sweep.txt.   usage: bash docs/crop-sweep.sh  (after make bench
# or make build/crop_sweep; about 4 minutes on 1 thread)
set -eu
cd "$(dirname "$0")/.."
DATA=${FERC_DATASETS:-datasets}
BUILD=${BUILD:-build}
{
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, $(date -u +%F)"
for d in fer2013/test CK+48-neutral; do
    echo "\$ $BUILD/crop_sweep checkpoints/fer2013.h5 $DATA/$d --crops 0.9,1.0,1.1,1.2"
    OMP_NUM_THREADS=1 "$BUILD/crop_sweep" checkpoints/fer2013.h5 "$DATA/$d" --crops 0.9,1.0,1.1,1.2
done
} | tee docs/crop-sweep.txt
