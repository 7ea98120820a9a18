"""Extraction: documents in, References with exact byte spans out (no judgement here)."""
