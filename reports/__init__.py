"""Reports of the lab: pure functions of `perflab.results/1` documents (see docs/results-format.md).

`model` loads and validates documents, `ranking` builds the ranking tables, `compare` tests two runs
against each other, `charts` draws SVG, `render` fills the jinja2 templates, `browser` checks a rendered
page in headless Chromium, and `cli` is the thin Click layer over all of them.
"""
