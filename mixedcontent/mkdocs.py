"""MkDocs plugin: after ``mkdocs build``, scan ``site_dir`` as served at ``site_url`` and log each
finding at or above ``fail_on`` as a warning, so ``mkdocs build --strict`` fails on mixed content.

Enable it in ``mkdocs.yml`` (``pip install 'mixedcontent[mkdocs]'``)::

    site_url: https://example.org/docs/
    plugins:
      - search
      - mixedcontent:
          fail_on: error        # error (default), warning, info or never
          select: [MC1, MC2]    # optional; else [tool.mixedcontent] select
          ignore: [MC104]
          baseline: mixedcontent-baseline.json

Options left out come from the project's ``[tool.mixedcontent]`` (pyproject.toml) or
``mixedcontent.toml``, found from the directory of ``mkdocs.yml`` upwards (``config_file`` names one;
``use_config: false`` reads none).
"""

from __future__ import annotations

import os
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import Files

from .errors import MixedContentError
from .settings import FAIL_ON
from .sitegen import BuildCheck, check_build, describe, describe_error

log = get_plugin_logger("mixedcontent")


class MixedContentConfig(Config):  # type: ignore[no-untyped-call]
    enabled = c.Type(bool, default=True)
    fail_on = c.Optional(c.Choice(FAIL_ON))
    select = c.Optional(c.ListOfItems(c.Type(str)))
    ignore = c.Optional(c.ListOfItems(c.Type(str)))
    baseline = c.Optional(c.Type(str))
    base_url = c.Optional(c.Type(str))  # default: site_url
    config_file = c.Optional(c.Type(str))
    use_config = c.Type(bool, default=True)


class MixedContentPlugin(BasePlugin[MixedContentConfig]):  # type: ignore[no-untyped-call]
    sources: dict[str, str]

    def on_files(self, files: Files, *, config: Any) -> Files:
        # output page -> the Markdown it is built from, named in each warning
        docs_dir = os.path.relpath(str(config["docs_dir"]))
        self.sources = {f.dest_uri: os.path.join(docs_dir, f.src_path) for f in files.documentation_pages()}
        return files

    def on_post_build(self, *, config: Any) -> None:
        if not self.config.enabled:
            return
        site_dir = str(config["site_dir"])
        project_dir = os.path.dirname(os.path.abspath(str(config["config_file_path"] or "mkdocs.yml")))
        check = BuildCheck(
            project_dir=project_dir, base_url=self.config.base_url or config.get("site_url") or None,
            fail_on=self.config.fail_on,
            select=tuple(self.config.select) if self.config.select is not None else None,
            ignore=tuple(self.config.ignore) if self.config.ignore is not None else None,
            baseline=self.config.baseline, config_file=self.config.config_file, use_config=self.config.use_config)
        try:
            report = check_build(site_dir, check)
        except MixedContentError as e:
            raise PluginError(f"mixedcontent: {e}") from None
        for f in report.failing:
            log.warning(describe(f, site_dir, getattr(self, "sources", None)))
        for f in report.other:
            log.info(describe(f, site_dir, getattr(self, "sources", None)))
        for err in report.errors:
            log.warning(describe_error(err, site_dir))
        log.info(report.summary())
