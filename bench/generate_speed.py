"""Decode throughput of the `hf:` backend against the memory-bandwidth roofline.

A randomly initialised model of a real shape (Qwen2.5-Coder-1.5B / 7B, built from the
dimensions in their published config.json; nothing is downloaded) generates through
`HFBackend.generate` exactly as a benchmark run does, at several batch sizes, with EOS
ignored so every row decodes the same number of tokens.

Decoding one token of a batch must read every weight matrix once (the input embedding is
a row lookup, so an untied embedding table is not counted) plus the batch's KV cache, so a
decode step takes at least (weight bytes read + KV bytes) / memory bandwidth. The script prints
measured decode tokens/s as a ratio of that bound, with the bandwidth both measured in the
same run (a device-to-device copy) and, on a known GPU, taken from its data sheet.

    python bench/generate_speed.py --shape qwen2.5-coder-7b --batch-sizes 1,8,32,64
    python bench/generate_speed.py --shape tiny --batch-sizes 1,4   # CPU smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch
from tabulate import tabulate
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.backends.base import BackendOptions, Decoding, Request
from harness.backends.hf import HFBackend

# Dimensions of Qwen/Qwen2.5-Coder-1.5B-Instruct and Qwen/Qwen2.5-Coder-7B-Instruct as their
# config.json on the Hugging Face hub gives them, written from memory (2025) without fetching
# the files (no hub access here). The printed parameter count is the check: about 1.54B and
# 7.62B, the sizes Qwen publishes for these models.
SHAPES: dict[str, dict] = {
    "qwen2.5-coder-1.5b": dict(
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
    ),
    "qwen2.5-coder-7b": dict(
        hidden_size=3584,
        intermediate_size=18944,
        num_hidden_layers=28,
        num_attention_heads=28,
        num_key_value_heads=4,
        vocab_size=152064,
        tie_word_embeddings=False,
        max_position_embeddings=32768,
        rope_theta=1_000_000.0,
        rms_norm_eps=1e-6,
    ),
    "tiny": dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=2048,
        tie_word_embeddings=True,
        max_position_embeddings=4096,
    ),
}

# Peak memory bandwidth in bytes/s as NVIDIA's data sheets state it, written from memory
# (2025) and not re-checked against the sheets here; matched against
# torch.cuda.get_device_name() (first match wins, so specific names come first). The
# measured-bandwidth ratio does not depend on this table; the data-sheet ratio does.
GPU_BANDWIDTH: list[tuple[str, float]] = [
    ("GH200", 4.0e12),  # the 96 GB HBM3 part; the 144 GB HBM3e part is faster
    ("H200", 4.8e12),
    ("H100 NVL", 3.9e12),
    ("H100 PCIe", 2.0e12),
    ("H100", 3.35e12),  # SXM5, reported as "NVIDIA H100 80GB HBM3"
    ("A100-SXM4-80GB", 2.039e12),
    ("A100 80GB PCIe", 1.935e12),
    ("A100", 1.555e12),  # 40GB
    ("L40", 0.864e12),  # L40 and L40S (before "L4", which their names contain)
    ("A10G", 0.6e12),
    ("L4", 0.3e12),
    ("RTX 4090", 1.008e12),
    ("V100", 0.9e12),
    ("T4", 0.32e12),
]


def spec_bandwidth(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return "cpu", None
    name = torch.cuda.get_device_name(device)
    return name, next((bw for key, bw in GPU_BANDWIDTH if key in name), None)


def measured_bandwidth(device: torch.device, repeats: int = 5) -> float:
    """Bytes/s of a large device-to-device copy (each byte read once and written once)."""
    n = (1 << 30) if device.type == "cuda" else (1 << 26)
    src = torch.empty(n, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        dst.copy_(src)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n / best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A small byte-level BPE tokenizer trained here (ids stay below the model's vocab)."""
    rng = random.Random(0)
    words = [
        "select",
        "from",
        "where",
        "group",
        "order",
        "count",
        "join",
        "table",
        "name",
        "singer",
        "concert",
        "student",
        "price",
        "year",
        "average",
        "how",
        "many",
        "list",
    ]
    corpus = [" ".join(rng.choice(words) for _ in range(40)) for _ in range(200)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<|endoftext|>"
    )


def make_requests(tokenizer, n: int, prompt_tokens: int, seed: int) -> list[Request]:
    """n distinct prompts of about `prompt_tokens` tokens each (random token ids, decoded)."""
    rng = random.Random(seed)
    low, high = 1, len(tokenizer) - 1
    requests = []
    for i in range(n):
        ids = [rng.randint(low, high) for _ in range(prompt_tokens)]
        text = tokenizer.decode(ids)
        requests.append(Request(str(i), i, ({"role": "user", "content": text},)))
    return requests


def param_bytes(model: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def weight_bytes_per_step(model: torch.nn.Module) -> int:
    """Weight bytes one decode step must read. The input embedding only gathers one row per
    sequence; when it is tied to the output head, the head reads the whole table anyway
    (and `parameters()` lists a tied table once)."""
    total = param_bytes(model)
    if model.config.tie_word_embeddings:
        return total
    table = model.get_input_embeddings().weight
    return total - table.numel() * table.element_size()


def kv_bytes_per_step(config: Qwen2Config, batch: int, context: float, elem: int) -> float:
    head_dim = config.hidden_size // config.num_attention_heads
    return (
        2
        * config.num_hidden_layers
        * batch
        * context
        * config.num_key_value_heads
        * head_dim
        * elem
    )


def timed(
    backend: HFBackend, requests: list[Request], decoding: Decoding, device
) -> tuple[float, list]:
    _sync(device)
    start = time.perf_counter()
    out = dict(backend.generate(requests, decoding))
    _sync(device)
    return time.perf_counter() - start, [out[i] for i in range(len(requests))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-coder-1.5b")
    parser.add_argument("--batch-sizes", default="1,8,32,64")
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--dtype", default=None, help="default: bfloat16 on GPU, float32 on CPU")
    parser.add_argument("--repeats", type=int, default=2, help="best of N timed runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = (
        getattr(torch, args.dtype)
        if args.dtype
        else (torch.bfloat16 if device.type == "cuda" else torch.float32)
    )
    config = Qwen2Config(**SHAPES[args.shape], eos_token_id=0, pad_token_id=0, bos_token_id=None)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2ForCausalLM(config).to(dtype).eval()
    tokenizer = train_tokenizer(min(1000, config.vocab_size))
    backend = HFBackend(
        args.shape, BackendOptions(template="plain"), model=model, tokenizer=tokenizer
    )

    gpu_name, spec_bw = spec_bandwidth(device)
    meas_bw = measured_bandwidth(device)
    weights = param_bytes(model)
    weights_read = weight_bytes_per_step(model)
    elem = torch.finfo(dtype).bits // 8
    n_params = sum(p.numel() for p in model.parameters())
    size = f"{n_params / 1e9:.2f}B" if n_params >= 1e8 else f"{n_params / 1e6:.2f}M"
    print(
        f"device {gpu_name}, {args.shape}: {size} params, {weights / 2**20:,.1f} MiB weights "
        f"({weights_read / 2**20:,.1f} MiB read per decode step, {dtype}); "
        f"bandwidth measured {meas_bw / 1e9:.0f} GB/s"
        + (f", data sheet {spec_bw / 1e9:.0f} GB/s" if spec_bw else "")
    )

    rows, results = [], []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        requests = make_requests(tokenizer, batch, args.prompt_tokens, seed=batch)
        one = Decoding(max_new_tokens=1, batch_size=batch, ignore_eos=True)
        full = Decoding(max_new_tokens=args.new_tokens, batch_size=batch, ignore_eos=True)
        timed(
            backend, requests, Decoding(max_new_tokens=4, batch_size=batch, ignore_eos=True), device
        )
        t_prefill = min(timed(backend, requests, one, device)[0] for _ in range(args.repeats))
        runs = [timed(backend, requests, full, device) for _ in range(args.repeats)]
        t_total, completions = min(runs, key=lambda r: r[0])
        tokens_in = sum(c.tokens_in for c in completions) / batch
        assert all(c.tokens_out == args.new_tokens for c in completions)
        decode_steps = args.new_tokens - 1
        decode_s = max(t_total - t_prefill, 1e-9)
        decode_tps = batch * decode_steps / decode_s
        # Padded to the longest prompt: the KV cache read per step grows from P to P + N.
        context = max(c.tokens_in for c in completions) + args.new_tokens / 2
        step_bytes = weights_read + kv_bytes_per_step(config, batch, context, elem)
        roof_meas = batch * meas_bw / step_bytes
        roof_spec = batch * spec_bw / step_bytes if spec_bw else None
        result = {
            "batch": batch,
            "prompt_tokens": tokens_in,
            "new_tokens": args.new_tokens,
            "prefill_s": t_prefill,
            "total_s": t_total,
            "decode_tokens_per_s": decode_tps,
            "prompts_per_s": batch / t_total,
            "tokens_per_s": batch * args.new_tokens / t_total,
            "roofline_tokens_per_s_measured_bw": roof_meas,
            "ratio_measured_bw": decode_tps / roof_meas,
            "roofline_tokens_per_s_spec_bw": roof_spec,
            "ratio_spec_bw": decode_tps / roof_spec if roof_spec else None,
        }
        results.append(result)
        rows.append(
            [
                batch,
                f"{tokens_in:.0f}",
                f"{t_prefill:.3f}",
                f"{decode_tps:,.0f}",
                f"{batch / t_total:.2f}",
                f"{roof_meas:,.0f}",
                f"{decode_tps / roof_meas:.2f}",
                f"{decode_tps / roof_spec:.2f}" if roof_spec else "-",
            ]
        )
    print(
        tabulate(
            rows,
            headers=[
                "batch",
                "prompt tok",
                "prefill s",
                "decode tok/s",
                "prompts/s",
                "roofline tok/s",
                "ratio (measured BW)",
                "ratio (spec BW)",
            ],
            tablefmt="github",
        )
    )
    print("roofline = batch x bandwidth / (weight + KV-cache bytes read per decode step)")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "device": gpu_name,
                    "shape": args.shape,
                    "dtype": str(dtype),
                    "measured_bandwidth": meas_bw,
                    "spec_bandwidth": spec_bw,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
