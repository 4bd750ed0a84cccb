"""Prompt text: chat messages for every backend, rendered for local models either through
the tokenizer's chat template (instruct models) or a plain completion template (base models).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.hashing import sha256_text

_TASK = (
    "You are an expert SQL assistant. Given a SQLite database schema and a question, "
    "write one SQLite query that answers the question. "
)
SYSTEM = _TASK + "Reply with the SQL query only, in a ```sql code block."
# A base model continues "SQL:" with bare SQL, so its instruction asks for no code block.
SYSTEM_PLAIN = _TASK + "Reply with the SQL query only."
USER = "Database schema:\n{schema}\n\n{evidence}Question: {question}"
EVIDENCE = "Evidence: {evidence}\n"
ASSISTANT = "```sql\n{sql}\n```"
# Base models continue text: each demonstration ends in its SQL, the prompt in "SQL:".
PLAIN_TURN = "{user}\nSQL: {sql}\n\n"
PLAIN_END = "{user}\nSQL:"

TEMPLATE_MODES = ("auto", "chat", "plain")
# Hub naming conventions of instruction-tuned releases (base models often ship a chat
# template too, so its presence alone does not make a model an instruct model).
_INSTRUCT_NAME = re.compile(r"instruct|chat|(^|[-_/])it($|[-_/])|assistant|-rl\b|sft", re.I)


@dataclass(frozen=True)
class Shot:
    """One demonstration: a question with its SQL (and the schema it was asked against)."""

    question: str
    sql: str
    schema: str = ""
    evidence: str = ""


def user_message(schema: str, question: str, evidence: str = "") -> str:
    ev = EVIDENCE.format(evidence=evidence.strip()) if evidence.strip() else ""
    return USER.format(schema=schema, evidence=ev, question=question.strip())


def build_messages(
    schema: str, question: str, evidence: str = "", shots: Sequence[Shot] = ()
) -> tuple[dict[str, str], ...]:
    messages = [{"role": "system", "content": SYSTEM}]
    for shot in shots:
        messages.append(
            {"role": "user", "content": user_message(shot.schema, shot.question, shot.evidence)}
        )
        messages.append({"role": "assistant", "content": ASSISTANT.format(sql=shot.sql.strip())})
    messages.append({"role": "user", "content": user_message(schema, question, evidence)})
    return tuple(messages)


def render_plain(messages: Sequence[dict[str, str]]) -> str:
    """Messages as one text to continue: system text, demonstrations, then "SQL:"."""
    parts: list[str] = []
    pending_user: str | None = None
    for m in messages:
        if m["role"] == "system":
            system = SYSTEM_PLAIN if m["content"] == SYSTEM else m["content"]
            parts.append(system + "\n\n")
        elif m["role"] == "user":
            pending_user = m["content"]
        elif m["role"] == "assistant" and pending_user is not None:
            sql = m["content"].removeprefix("```sql\n").removesuffix("\n```")
            parts.append(PLAIN_TURN.format(user=pending_user, sql=sql))
            pending_user = None
    if pending_user is not None:
        parts.append(PLAIN_END.format(user=pending_user))
    return "".join(parts)


def choose_mode(mode: str, tokenizer: Any, model_name: str) -> str:
    """Resolve "auto": chat when the tokenizer has a chat template and the model is named
    as an instruct/chat release; plain otherwise."""
    if mode not in TEMPLATE_MODES:
        raise ValueError(f"unknown template mode {mode!r}; known: {', '.join(TEMPLATE_MODES)}")
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if mode == "chat" and not has_template:
        raise ValueError(f"{model_name}: template 'chat' asked for, but the tokenizer has none")
    if mode != "auto":
        return mode
    return "chat" if has_template and _INSTRUCT_NAME.search(model_name) else "plain"


def render(
    messages: Sequence[dict[str, str]], tokenizer: Any, mode: str, text: str | None = None
) -> str:
    """The model's input text: the prompt format's base-model `text` (or, without one, the
    messages as plain text) for "plain", the tokenizer's chat template for "chat"."""
    if mode == "plain":
        return render_plain(messages) if text is None else text
    try:
        return tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True
        )
    except Exception as exc:  # jinja raises a bare TemplateError for "no system role"
        if "system" not in str(exc).lower() or messages[0]["role"] != "system":
            raise
        # Templates without a system role (Gemma, Mistral v1): fold it into the first turn.
        first, rest = messages[1], list(messages[2:])
        merged = {"role": "user", "content": messages[0]["content"] + "\n\n" + first["content"]}
        return tokenizer.apply_chat_template(
            [merged, *rest], tokenize=False, add_generation_prompt=True
        )


def template_sha256(template_id: str) -> str:
    """Names the prompt wording plus how the backend turns messages into input
    (`Backend.template_id()`: "messages" for APIs, "plain", or a chat template's text)."""
    return sha256_text(
        "\0".join([SYSTEM, USER, EVIDENCE, ASSISTANT, PLAIN_TURN, PLAIN_END, template_id])
    )
