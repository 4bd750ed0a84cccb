"""Builders for the generation tests: a tiny Spider-layout benchmark and a tiny random
Qwen2-style model with a tokenizer trained in-process, plus two LoRA adapters.

Everything is built once per test session (memoised) in a temporary directory; nothing is
downloaded. Torch is imported only by the model builders.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

DATABASES = {
    "concert_singer": """
        CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, country TEXT, age INTEGER);
        CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, concert_name TEXT, year INTEGER,
            singer_id INTEGER REFERENCES singer(singer_id));
        INSERT INTO singer VALUES (1, 'Joe Sharp', 'Netherlands', 52), (2, 'Timbaland', 'USA', 32),
            (3, 'Justin Brown', 'France', 29), (4, 'Rose White', 'France', 41);
        INSERT INTO concert VALUES (1, 'Auditions', 2014, 1), (2, 'Super bootcamp', 2014, 2),
            (3, 'Home Visits', 2015, 3);
    """,
    "shop": """
        CREATE TABLE product (product_id INTEGER PRIMARY KEY, product_name TEXT, price REAL);
        CREATE TABLE orders (order_id INTEGER PRIMARY KEY, product_id INTEGER, quantity INTEGER,
            FOREIGN KEY (product_id) REFERENCES product(product_id));
        INSERT INTO product VALUES (1, 'pen', 1.5), (2, 'book', 12.0), (3, 'lamp', 30.0);
        INSERT INTO orders VALUES (1, 1, 10), (2, 2, 1), (3, 1, 5), (4, 3, 2);
    """,
    "school": """
        CREATE TABLE student (student_id INTEGER PRIMARY KEY, student_name TEXT, grade INTEGER);
        CREATE TABLE course (course_id INTEGER PRIMARY KEY, title TEXT, credits INTEGER);
        INSERT INTO student VALUES (1, 'Ann', 9), (2, 'Bo', 10), (3, 'Cy', 10);
        INSERT INTO course VALUES (1, 'Math', 4), (2, 'Art', 2);
    """,
}

QUESTIONS = {
    "concert_singer": [
        ("How many singers are there?", "SELECT count(*) FROM singer"),
        (
            "List the names of singers from France.",
            "SELECT name FROM singer WHERE country = 'France'",
        ),
        ("What is the average age of singers?", "SELECT avg(age) FROM singer"),
        ("Which concerts happened in 2014?", "SELECT concert_name FROM concert WHERE year = 2014"),
    ],
    "shop": [
        ("How many products are there?", "SELECT count(*) FROM product"),
        (
            "What is the most expensive product?",
            "SELECT product_name FROM product ORDER BY price DESC LIMIT 1",
        ),
        ("What is the total quantity ordered?", "SELECT sum(quantity) FROM orders"),
    ],
    "school": [
        ("How many students are in grade 10?", "SELECT count(*) FROM student WHERE grade = 10"),
        ("List all course titles.", "SELECT title FROM course"),
    ],
}


def _tmp_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="harness-test-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _tables_entry(db_id: str, conn: sqlite3.Connection) -> dict:
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")
    ]
    cols: list[list] = [[-1, "*"]]
    types = ["text"]
    pks: list[int] = []
    fks: list[list[int]] = []
    index: dict[tuple[str, str], int] = {}
    for t_idx, table in enumerate(tables):
        for _, name, ctype, _, _, pk in conn.execute(f"PRAGMA table_info({table})"):
            index[(table, name)] = len(cols)
            if pk:
                pks.append(len(cols))
            cols.append([t_idx, name])
            types.append("number" if ctype.upper() in ("INTEGER", "REAL") else "text")
    for table in tables:
        for row in conn.execute(f"PRAGMA foreign_key_list({table})"):
            fks.append([index[(table, row[3])], index[(row[2], row[4])]])
    return {
        "db_id": db_id,
        "table_names_original": tables,
        "table_names": tables,
        "column_names_original": cols,
        "column_names": cols,
        "column_types": types,
        "primary_keys": pks,
        "foreign_keys": fks,
    }


def write_spider_dir(root: Path, repeat: int = 1) -> Path:
    """A Spider-layout folder (dev.json, tables.json, database/<db>/<db>.sqlite);
    `repeat` copies the question list that many times (each copy worded apart)."""
    root.mkdir(parents=True, exist_ok=True)
    entries, dev = [], []
    for db_id, ddl in DATABASES.items():
        folder = root / "database" / db_id
        folder.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(folder / f"{db_id}.sqlite")
        conn.executescript(ddl)
        conn.commit()
        entries.append(_tables_entry(db_id, conn))
        conn.close()
    for r in range(repeat):
        for db_id, pairs in QUESTIONS.items():
            for question, sql in pairs:
                q = question if r == 0 else f"{question} (variant {r})"
                dev.append({"db_id": db_id, "question": q, "query": sql})
    (root / "tables.json").write_text(json.dumps(entries, indent=1))
    (root / "dev.json").write_text(json.dumps(dev, indent=1))
    return root


@functools.cache
def tiny_spider_dir(repeat: int = 1) -> Path:
    return write_spider_dir(_tmp_root() / f"spider-{repeat}", repeat)


def corpus() -> list[str]:
    lines = [CHAT_TEMPLATE, "Database schema:", "Question:", "SQL:", "```sql", "```"]
    for db_id, ddl in DATABASES.items():
        lines += [db_id, ddl]
    for pairs in QUESTIONS.values():
        for q, sql in pairs:
            lines += [q, sql]
    return lines * 20


@dataclass(frozen=True)
class TinyModel:
    path: Path  # model + tokenizer directory, loadable as hf:<path>
    adapter_a: Path
    adapter_b: Path


def _train_tokenizer(vocab_size: int = 320):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _lora(model_dir: Path, out: Path, seed: int, scale: float) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(model_dir)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"])
    peft_model = get_peft_model(base, config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                # LoRA B starts at zero (a no-op adapter); random A and B make it act.
                param.copy_(torch.randn(param.shape, generator=gen) * scale)
    peft_model.save_pretrained(out)
    return out


@functools.cache
def tiny_model() -> TinyModel:
    """A 2-layer, hidden-64 Qwen2 model named like an instruct release (so `auto` picks the
    chat template), random weights, and adapters A and B."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    root = _tmp_root()
    tokenizer = _train_tokenizer()
    vocab = len(tokenizer)
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
        # Wider than the default 0.02, so greedy outputs differ between prompts and adapters.
        initializer_range=0.1,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    path = root / "tiny-qwen2-instruct"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return TinyModel(
        path=path,
        adapter_a=_lora(path, root / "adapter-a", seed=1, scale=0.6),
        adapter_b=_lora(path, root / "adapter-b", seed=2, scale=0.6),
    )


@functools.cache
def tiny_t5() -> Path:
    """A 1-layer, d_model-32 T5 (encoder-decoder) with the test tokenizer, random weights."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = _train_tokenizer()
    tokenizer.chat_template = None  # T5 checkpoints ship none
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        initializer_factor=2.0,  # wide enough that outputs differ between inputs
    )
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(config)
    path = _tmp_root() / "tiny-t5"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
