"""Paired comparison of two leaderboards: the pull-request comment and the promotion gate.

A config in BASE and the config of the same name in HEAD are compared on the question ids
both scored, and only when their run identities agree on everything the comparison is not
about. By default that is everything except the model and the prompt (a new adapter, a
new template); data, scorer and decoding must match, otherwise the row names the fields
that differ and carries no Δ.

- compare: which fields forbid a Δ; entry vs entry and leaderboard vs leaderboard, paired
- promotion: `--gate`, candidate vs baseline by a minimum Δ with its CI above 0
- render: the markdown comment
- diff: both leaderboard files in, the comparisons, gate and markdown out
"""
