"""Sources: where documents come from (a built site on disk, a live crawl, a WARC archive)."""
