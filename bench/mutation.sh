#!/usr/bin/env bash
# Mutation testing of the code a wrong number would come from: the result comparison
# (harness/scoring/exec_match.py), the bootstrap and McNemar (harness/stats.py) and the
# joining of predictions to examples (harness/predictions/__init__.py), against the tests
# that cover them. Which files and tests: [tool.mutmut] in pyproject.toml.
#
# Usage: bash bench/mutation.sh            (needs the dev extra: mutmut)
#        JOBS=1 bash bench/mutation.sh     (worker processes; default 2)
#
# mutmut copies the package into mutants/ (git-ignored) and runs the selected tests once
# per mutant; about 7 minutes on 2 shared cores. It prints the survivors per module; the
# equivalent ones (no test can tell them apart) are listed, with reasons, in
# bench/mutation_equivalent.txt. `mutmut show NAME` prints a mutant's diff.
set -euo pipefail
cd "$(dirname "$0")/.."
# mutmut from the same environment as the Python that runs the tests
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
MUTMUT=${MUTMUT:-$(dirname "$PY")/mutmut}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

rm -rf mutants
log=$(mktemp)
"$MUTMUT" run --max-children "${JOBS:-2}" > "$log" 2>&1 || { tail -40 "$log"; exit 1; }
mv "$log" mutants/run.log
"$MUTMUT" results --all true > mutants/results.txt

echo "module                       mutants  killed  survived  other"
awk '{
    split($1, part, ".");
    module = part[2] == "scoring" ? part[2] "." part[3] : part[2];
    status = $2;
    total[module]++;
    if (status == "killed" || status == "timeout") killed[module]++;
    else if (status == "survived") survived[module]++;
    else other[module]++;
} END {
    for (m in total)
        printf "%-28s %7d %7d %9d %6d\n", m, total[m], killed[m], survived[m], other[m];
}' mutants/results.txt | sort
echo
echo "survivors:"
grep -E ": (survived|no tests)$" mutants/results.txt | sed 's/^ */  /' || echo "  none"
