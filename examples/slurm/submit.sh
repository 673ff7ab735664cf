#!/usr/bin/env bash
# Runs the shards as a Slurm job array and merges them in a job that starts once every shard has
# succeeded. Usage: examples/slurm/submit.sh SUITE.toml [SHARDS] (from the project's root).
set -euo pipefail
suite=${1:?usage: submit.sh SUITE.toml [SHARDS]}
shards=${2:-8}
mkdir -p parts
shards_job=$(sbatch --parsable --array=0-$((shards - 1)) examples/slurm/shards.sbatch "$suite")
sbatch --dependency=afterok:"$shards_job" examples/slurm/merge.sbatch
