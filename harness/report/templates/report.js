"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const ROW_H = 26;
  const OVERSCAN = 6;
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ESC[c]);

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children || []) node.append(c);
    return node;
  }
  const pct = (x) => (100 * x).toFixed(1);
  const signed = (x) => (x < 0 || Object.is(x, -0) ? "" : "+") + (100 * x).toFixed(1);

  // ------------------------------------------------------------------ sortable tables
  function makeSortable(table) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, col) => {
      th.addEventListener("click", () => {
        const numeric = th.dataset.type === "num";
        const now = th.getAttribute("aria-sort");
        // Scores sort best first on the first click; names and ranks A-Z / 1-n.
        const firstDesc = numeric && th.textContent.trim() !== "rank";
        const dir = now ? (now === "ascending" ? -1 : 1) : (firstDesc ? -1 : 1);
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        const body = table.tBodies[0];
        const fixed = Array.from(body.rows).filter((r) => r.classList.contains("counts"));
        const rows = Array.from(body.rows).filter((r) => !r.classList.contains("counts"));
        const key = (r) => r.cells[col].dataset.sort ?? r.cells[col].textContent;
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          const c = numeric ? parseFloat(x) - parseFloat(y) : String(x).localeCompare(String(y));
          return dir * c;
        });
        body.append(...rows, ...fixed);
      });
    });
  }
  document.querySelectorAll("table.sortable").forEach(makeSortable);

  // ------------------------------------------------------------------ per table
  function Board(section, data) {
    this.data = data;
    this.q = data.questions;
    this.n = this.q.id.length;
    this.runs = data.runs;
    this.explorer = section.querySelector(".explorer");
    this.changes = section.querySelector(".changes");
    this.filters = { level: "", db: "", label: "", status: "", search: "" };
    this.open = -1;
    this.buildExplorer();
    this.buildChanges();
  }

  Board.prototype.passed = function (run, k) {
    return this.data.results[run].ex[k];
  };

  Board.prototype.select = function (name, label, values) {
    const s = el("select", { name: name });
    s.append(el("option", { value: "", text: "all" }));
    for (const [value, text] of values) s.append(el("option", { value: value, text: text }));
    s.addEventListener("change", () => {
      this.filters[name] = s.value;
      this.refilter();
    });
    return el("label", {}, [label, s]);
  };

  Board.prototype.buildExplorer = function () {
    const uniq = (xs) => Array.from(new Set(xs)).filter((x) => x !== "");
    const levelOrder = ["easy", "medium", "hard", "extra", "simple", "moderate", "challenging"];
    const levels = uniq(this.q.level).sort(
      (a, b) => ((levelOrder.indexOf(a) + 99) % 99) - ((levelOrder.indexOf(b) + 99) % 99) || a.localeCompare(b)
    );
    const dbs = uniq(this.q.db).sort();
    const search = el("input", { type: "search", name: "search", placeholder: "id, question or SQL" });
    search.addEventListener("input", () => {
      this.filters.search = search.value.trim().toLowerCase();
      this.refilter();
    });
    this.countNode = el("span", { class: "count" });
    const controls = el("div", { class: "controls" }, [
      el("label", {}, ["search", search]),
      this.select("level", "hardness / difficulty", levels.map((x) => [x, x])),
      this.select("db", "database", dbs.map((x) => [x, x])),
      this.select("label", "failure label (any run)", this.data.labels.map((x, i) => [String(i), x])),
      this.select("status", "outcome", [
        ["some-wrong", "wrong in some run"],
        ["all-wrong", "wrong in every run"],
        ["all-right", "right in every run"],
        ["disagree", "runs disagree"],
      ]),
      this.countNode,
    ]);
    const columns = `110px 130px 74px repeat(${this.runs.length}, 24px) minmax(200px, 1fr)`;
    this.columns = columns;
    const head = el("div", { class: "grid-head" }, [
      el("div", { text: "id" }),
      el("div", { text: "database" }),
      el("div", { text: "level" }),
      ...this.runs.map((r, i) => el("div", { class: "rh", title: `#${r.rank} ${r.name}`, text: r.name })),
      el("div", { text: "question" }),
    ]);
    head.style.gridTemplateColumns = columns;
    this.viewport = el("div", { class: "viewport" });
    this.spacer = el("div", { class: "spacer" });
    // One column layout for every row, set once instead of per row.
    this.spacer.style.setProperty("--cols", columns);
    this.spacer.addEventListener("click", (event) => {
      const row = event.target.closest(".qrow");
      if (row) this.show(Number(row.dataset.k));
    });
    this.viewport.append(this.spacer);
    this.viewport.addEventListener("scroll", () => this.render());
    this.detail = el("div", { class: "detail", hidden: "" });
    this.explorer.append(controls, el("div", { class: "scroll-x" }, [head, this.viewport]), this.detail);
    this.refilter();
  };

  Board.prototype.matches = function (k) {
    const f = this.filters;
    if (f.level && this.q.level[k] !== f.level) return false;
    if (f.db && this.q.db[k] !== f.db) return false;
    const res = this.data.results;
    if (f.label !== "") {
      const want = Number(f.label);
      if (!res.some((r) => r.fail[k] === want)) return false;
    }
    if (f.status) {
      const seen = res.map((r) => r.ex[k]).filter((c) => c !== ".");
      const right = seen.filter((c) => c === "1").length;
      if (f.status === "some-wrong" && right === seen.length) return false;
      if (f.status === "all-wrong" && right !== 0) return false;
      if (f.status === "all-right" && right !== seen.length) return false;
      if (f.status === "disagree" && (right === 0 || right === seen.length)) return false;
    }
    if (f.search) {
      const pool = this.data.pool;
      const hay = [this.q.id[k], this.q.text[k], this.q.gold[k]];
      for (const r of res) if (r.pred[k] >= 0) hay.push(pool[r.pred[k]]);
      if (!hay.some((t) => t.toLowerCase().includes(f.search))) return false;
    }
    return true;
  };

  Board.prototype.refilter = function () {
    this.rows = [];
    for (let k = 0; k < this.n; k++) if (this.matches(k)) this.rows.push(k);
    this.countNode.textContent = `${this.rows.length} of ${this.n} questions`;
    this.spacer.style.height = `${this.rows.length * ROW_H}px`;
    this.viewport.scrollTop = 0;
    this.render(true);
  };

  // Rows are built as one HTML string per render: far cheaper than createElement per cell
  // when a 20-run row has two dozen cells. Every text goes through esc().
  Board.prototype.rowHTML = function (k, position) {
    const res = this.data.results;
    let cells = "";
    for (let i = 0; i < this.runs.length; i++) {
      const c = res[i].ex[k];
      const f = res[i].fail[k];
      const label = c === "0" && f >= 0 ? ` (${this.data.labels[f]})` : "";
      const word = c === "1" ? "right" : c === "0" ? "wrong" : "not scored";
      const cls = c === "1" ? "p" : c === "0" ? "f" : "n";
      const mark = c === "1" ? "✓" : c === "0" ? "✗" : "·";
      cells += `<div class="cell ${cls}" title="${esc(this.runs[i].name + ": " + word + label)}">${mark}</div>`;
    }
    const q = this.q;
    const text = q.text[k] || q.gold[k];
    return `<div class="qrow${k === this.open ? " open" : ""}" data-k="${k}" data-id="${esc(q.id[k])}" style="top:${position * ROW_H}px">` +
      `<div class="qid">${esc(q.id[k])}</div><div>${esc(q.db[k])}</div><div class="level">${esc(q.level[k])}</div>` +
      cells + `<div title="${esc(q.text[k] || "")}">${esc(text)}</div></div>`;
  };

  Board.prototype.render = function (force) {
    const top = this.viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + this.viewport.clientHeight) / ROW_H) + OVERSCAN);
    if (!force && first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    let html = "";
    for (let p = first; p < last; p++) html += this.rowHTML(this.rows[p], p);
    this.spacer.innerHTML = html;
  };

  Board.prototype.show = function (k) {
    this.open = k;
    this.render(true);
    const pool = this.data.pool;
    const q = this.q;
    const body = el("tbody");
    this.runs.forEach((r, i) => {
      const res = this.data.results[i];
      const c = res.ex[k];
      const verdict = c === "1" ? el("span", { class: "tag p", text: "✓ right" })
        : c === "0" ? el("span", { class: "tag f", text: "✗ wrong" })
        : el("span", { class: "empty", text: "not scored" });
      const why = [];
      if (res.fail[k] >= 0) why.push(el("div", { class: "meta", text: this.data.labels[res.fail[k]] }));
      const sql = res.pred[k] >= 0 ? el("pre", { text: pool[res.pred[k]] || "(empty)" }) : el("span", { class: "empty", text: "—" });
      const mm = res.mismatch[k] >= 0 ? [el("pre", { class: "mismatch", text: pool[res.mismatch[k]] })] : [];
      body.append(el("tr", {}, [
        el("td", { class: "who", text: `#${r.rank} ${r.name}` }),
        el("td", { class: "verdict" }, [verdict, ...why]),
        el("td", {}, [sql, ...mm]),
      ]));
    });
    this.detail.replaceChildren(
      el("h4", { text: `Question ${q.id[k]}` }),
      el("div", { class: "meta", text: `database ${q.db[k] || "—"} · ${q.level[k] || "no level"}` }),
      el("div", { class: "q", text: q.text[k] || "(question text not recorded)" }),
      el("div", { class: "meta", text: "gold SQL" }),
      el("pre", { class: "gold", text: q.gold[k] }),
      el("table", {}, [
        el("thead", {}, [el("tr", {}, [el("th", { class: "who", text: "run" }), el("th", { class: "verdict", text: "result" }), el("th", { text: "predicted SQL / mismatch" })])]),
        body,
      ]),
    );
    this.detail.hidden = false;
  };

  Board.prototype.reveal = function (k) {
    // From the flip lists: clear filters that would hide the question, then scroll to it.
    if (!this.matches(k)) {
      this.explorer.querySelectorAll("select").forEach((s) => (s.value = ""));
      this.explorer.querySelector("input[type=search]").value = "";
      for (const key of Object.keys(this.filters)) this.filters[key] = "";
      this.refilter();
    }
    const position = this.rows.indexOf(k);
    this.viewport.scrollTop = Math.max(0, position * ROW_H - this.viewport.clientHeight / 2);
    this.show(k);
    this.explorer.scrollIntoView({ block: "start" });
  };

  // ------------------------------------------------------------------ what changed
  Board.prototype.buildChanges = function () {
    if (this.runs.length < 2) {
      this.changes.append(el("p", { class: "empty", text: "Only one run: nothing to compare." }));
      return;
    }
    const options = (chosen) => {
      const s = el("select");
      this.runs.forEach((r, i) => s.append(el("option", { value: String(i), text: `#${r.rank} ${r.name}` })));
      s.value = String(chosen);
      s.addEventListener("change", () => this.compare());
      return s;
    };
    this.fromSel = options(1);
    this.toSel = options(0);
    this.fromSel.name = "from";
    this.toSel.name = "to";
    this.changeOut = el("div");
    this.changes.append(
      el("div", { class: "controls" }, [el("label", {}, ["from (baseline)", this.fromSel]), el("label", {}, ["to (candidate)", this.toSel])]),
      this.changeOut,
    );
    this.compare();
  };

  Board.prototype.compare = function () {
    const a = Number(this.fromSel.value), b = Number(this.toSel.value);
    const A = this.runs[a], B = this.runs[b];
    const out = [];
    const conf = Math.round(100 * this.data.confidence);
    if (a === b) {
      out.push(el("p", { class: "empty", text: "Pick two different runs." }));
      this.changeOut.replaceChildren(...out);
      return;
    }
    const pair = this.data.pairs[a < b ? `${a},${b}` : `${b},${a}`];
    if (pair.blocked) {
      out.push(el("p", { class: "delta", text: `Not compared: the runs differ in ${pair.blocked.join(", ")} (a Δ would mix two measurements).` }));
    } else {
      // pairs hold (later listed) - (earlier listed); flip for the other direction.
      const d = a < b ? pair : { mean: -pair.mean, low: -pair.high, high: -pair.low, n: pair.n };
      const cls = d.low > 0 ? "sig" : d.high < 0 ? "signeg" : "";
      const verdict = d.low > 0 ? "a significant gain" : d.high < 0 ? "a significant loss" : "within noise (the CI includes 0)";
      const p = el("p", { class: "delta", "data-delta": signed(d.mean), "data-low": signed(d.low), "data-high": signed(d.high) });
      p.append(
        `Δ EX (${B.name} − ${A.name}) = `,
        el("b", { class: cls, text: `${signed(d.mean)} pp` }),
        ` [${conf}% CI ${signed(d.low)}, ${signed(d.high)}], n = ${d.n} paired questions: ${verdict}.`,
      );
      out.push(p);
    }
    const fixed = [], broke = [];
    const ra = this.data.results[a].ex, rb = this.data.results[b].ex;
    for (let k = 0; k < this.n; k++) {
      if (ra[k] === "0" && rb[k] === "1") fixed.push(k);
      else if (ra[k] === "1" && rb[k] === "0") broke.push(k);
    }
    const chips = (list, cls) => {
      if (!list.length) return el("div", { class: "chips" }, [el("span", { class: "empty", text: "none" })]);
      return el("div", { class: "chips" }, list.map((k) => {
        const chip = el("span", { class: `chip ${cls}`, "data-id": this.q.id[k], title: this.q.text[k] || "", text: this.q.id[k] });
        chip.addEventListener("click", () => this.reveal(k));
        return chip;
      }));
    };
    out.push(el("div", { class: "flips" }, [
      el("div", { class: "fixed-list" }, [el("h4", { text: `✓ fixed: ${fixed.length} wrong in ${A.name}, right in ${B.name}` }), chips(fixed, "fixed")]),
      el("div", { class: "broke-list" }, [el("h4", { text: `✗ broken: ${broke.length} right in ${A.name}, wrong in ${B.name}` }), chips(broke, "broke")]),
    ]));
    this.changeOut.replaceChildren(...out);
  };

  document.querySelectorAll("section.board").forEach((section) => {
    const index = Number(section.dataset.table);
    section.board = new Board(section, DATA[index]);
  });
  document.body.dataset.ready = "1";
})();
