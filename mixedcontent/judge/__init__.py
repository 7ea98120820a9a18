"""Judging: what the findings are (``runtime.py``: the browser's verdicts merged with the static ones)."""
