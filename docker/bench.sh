#!/usr/bin/env bash
# `make bench MODEL=... [BENCH=spider-dev] [ADAPTER=...] [DATA_DIR=...] [ARGS='...']
#             [RUNNER=docker|local] [DRY_RUN=1]`
#
# Runs `harness bench` in the pinned container (docker/Dockerfile) when a Docker engine
# answers, natively otherwise, and says which. RUNNER forces one. DATA_DIR replaces the
# benchmark's default data folder (what `harness prepare` fills); ARGS is appended to the
# harness command as extra flags (e.g. ARGS=--allow-partial). DRY_RUN=1 prints the
# command that would run (on stdout, alone; which runner and why go to stderr) and runs
# nothing.
# Environment: IMAGE (default harness:latest), HARNESS (native binary), RUNS (run folders),
# HF_HOME (host Hugging Face cache, mounted), HARNESS_CACHE_DIR (host harness cache,
# mounted), OPENAI_API_KEY / ANTHROPIC_API_KEY / HF_TOKEN (passed through by name; never
# printed).
set -euo pipefail

MODEL="${MODEL:-}"
BENCH="${BENCH:-spider-dev}"
ADAPTER="${ADAPTER:-}"
RUNNER="${RUNNER:-}"
DRY_RUN="${DRY_RUN:-}"
DATA_DIR="${DATA_DIR:-}"
ARGS="${ARGS:-}"
IMAGE="${IMAGE:-harness:latest}"
HARNESS="${HARNESS:-harness}"
RUNS="${RUNS:-runs}"
HOST_HF="${HF_HOME:-$HOME/.cache/huggingface}"
# The same cache folder native runs use (responses, gold results), shared with the container.
HOST_CACHE="${HARNESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/harness}"

die() { echo "bench.sh: $*" >&2; exit 2; }

[[ -n "$MODEL" ]] || die "MODEL is required, e.g. make bench MODEL=hf:Qwen/Qwen2.5-Coder-1.5B-Instruct"

# BENCH -> benchmark, split, host data folder (what `harness prepare` fills), container path
case "$BENCH" in
  spider-dev)   bench=spider;  split=dev;      data=spider/data;         mount=/data/spider ;;
  bird-dev)     bench=bird;    split=dev;      data=bird/data;           mount=/data/bird-dev ;;
  bird-minidev) bench=bird;    split=mini_dev; data=bird/data/minidev;   mount=/data/bird-minidev ;;
  fixture)      bench=fixture; split=dev;      data="";                  mount="" ;;
  *) die "unknown BENCH=$BENCH (spider-dev, bird-dev, bird-minidev, fixture)" ;;
esac
[[ -n "$DATA_DIR" ]] && data="$DATA_DIR"
[[ -n "$DATA_DIR" && -z "$mount" ]] && mount=/data/$bench
# Extra harness flags, split on whitespace as a shell would split an unquoted word.
read -r -a extra_args <<< "$ARGS"
case "$RUNNER" in
  ""|docker|local) ;;
  *) die "RUNNER must be docker or local, not $RUNNER" ;;
esac

# A run folder name a person can read: model (and adapter) and benchmark, no slashes.
slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '-' | sed 's/--*/-/g; s/^-//; s/-$//'; }
name="$(slug "$MODEL")"
[[ -n "$ADAPTER" ]] && name="$name+$(slug "$(basename "$ADAPTER")")"
name="$name@$BENCH"

engine_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

if [[ -n "$RUNNER" ]]; then
  runner="$RUNNER"; why="RUNNER=$RUNNER"
elif engine_answers; then
  runner=docker; why="a Docker engine answers"
else
  runner=local; why="no Docker engine answers (docker info failed or docker is not installed)"
fi

# --- the native command
local_cmd=("$HARNESS" bench --model "$MODEL" --bench "$bench" --split "$split"
           --out "$RUNS/$name")
[[ -n "$data" ]] && local_cmd+=(--data-dir "$data")
[[ -n "$ADAPTER" ]] && local_cmd+=(--adapter "$ADAPTER")
local_cmd+=("${extra_args[@]}")

runs_host="$RUNS"
[[ "$RUNS" == /* ]] || runs_host="$PWD/$RUNS"

# --- the container command: data read-only, caches and run folders writable, host uid.
# The host uid has no home in the image (HOME is /), so the harness cache is pointed at a
# mounted folder explicitly.
docker_cmd=(docker run --rm --gpus all --user "$(id -u):$(id -g)"
            -v "$HOST_HF:/hf-cache" -v "$HOST_CACHE:/cache/harness"
            -e HARNESS_CACHE_DIR=/cache/harness -v "$runs_host:/work/runs")
data_host="$data"
[[ "$data" == /* ]] || data_host="$PWD/$data"
[[ -n "$data" ]] && docker_cmd+=(-v "$data_host:$mount:ro")
for var in OPENAI_API_KEY ANTHROPIC_API_KEY HF_TOKEN; do
  docker_cmd+=(-e "$var")
done
adapter_arg=()
if [[ -n "$ADAPTER" ]]; then
  if [[ -e "$ADAPTER" ]]; then
    host_adapter="$(cd "$(dirname "$ADAPTER")" && pwd)/$(basename "$ADAPTER")"
    docker_cmd+=(-v "$host_adapter:/adapters/$(basename "$ADAPTER"):ro")
    adapter_arg=(--adapter "/adapters/$(basename "$ADAPTER")")
  else
    adapter_arg=(--adapter "$ADAPTER")  # a hub id: resolved inside, cached in /hf-cache
  fi
fi
docker_cmd+=("$IMAGE" bench --model "$MODEL" --bench "$bench" --split "$split"
             --out "/work/runs/$name")
[[ -n "$mount" ]] && docker_cmd+=(--data-dir "$mount")
docker_cmd+=("${adapter_arg[@]}" "${extra_args[@]}")

if [[ -n "$DRY_RUN" ]]; then
  echo "bench.sh: dry run; a real run would use: $runner ($why)" >&2
  if [[ "$runner" == local ]]; then cmd=("${local_cmd[@]}"); else cmd=("${docker_cmd[@]}"); fi
  printf '%q ' "${cmd[@]}" | sed 's/ $//'
  echo
  exit 0
fi

if [[ "$runner" == docker ]]; then
  engine_answers || die "RUNNER=docker but no Docker engine answers (docker info failed)"
  echo "bench.sh: running in docker, image $IMAGE ($why)" >&2
  # Created here, as the user: folders docker creates for a missing mount belong to root.
  mkdir -p "$RUNS" "$HOST_HF" "$HOST_CACHE"
  exec "${docker_cmd[@]}"
fi
echo "bench.sh: running natively with $HARNESS ($why)" >&2
exec "${local_cmd[@]}"
