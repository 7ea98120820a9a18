"""Sphinx extension: when an HTML builder (html, dirhtml, singlehtml) finishes, scan its output
directory as served at ``html_baseurl`` and emit each finding at or above ``mixedcontent_fail_on`` as
a Sphinx warning, so ``sphinx-build -W`` fails on mixed content.

In ``conf.py`` (``pip install 'mixedcontent[sphinx]'``)::

    extensions = ["mixedcontent.sphinx"]
    html_baseurl = "https://example.org/docs/"
    mixedcontent_fail_on = "error"       # error (default), warning, info or never
    mixedcontent_select = ["MC1", "MC2"]
    mixedcontent_ignore = ["MC104"]
    mixedcontent_baseline = "mixedcontent-baseline.json"

Warnings have type ``mixedcontent`` and the rule code as subtype, so
``suppress_warnings = ["mixedcontent.MC101"]`` silences one rule. Values left unset come from the
project's ``[tool.mixedcontent]`` (pyproject.toml) or ``mixedcontent.toml``, found from the directory
of ``conf.py`` upwards (``mixedcontent_config_file`` names one; ``mixedcontent_use_config = False``
reads none).
"""

from __future__ import annotations

import os
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

from . import __version__
from .errors import MixedContentError
from .sitegen import BuildCheck, check_build, describe, describe_error

logger = logging.getLogger(__name__)

# the builders whose output is a site served over the web (not epub or the help formats)
HTML_BUILDERS = ("html", "dirhtml", "singlehtml")


def _tuple(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _sources(app: Sphinx) -> dict[str, str]:
    """Output file (relative to outdir) -> the source document it is built from."""
    out: dict[str, str] = {}
    for docname in app.env.found_docs:
        try:
            target = app.builder.get_target_uri(docname)
        except Exception:  # noqa: BLE001 - a builder without per-document targets: no names, no harm
            return out
        if not target or target.endswith("/"):
            target += "index.html"
        out[target] = os.path.relpath(app.env.doc2path(docname))
    return out


def on_build_finished(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or not app.config.mixedcontent_enabled:
        return
    if app.builder.name not in app.config.mixedcontent_builders:
        return
    site_dir = str(app.outdir)
    cfg = app.config
    check = BuildCheck(
        project_dir=str(app.confdir), base_url=cfg.mixedcontent_base_url or cfg.html_baseurl or None,
        fail_on=cfg.mixedcontent_fail_on, select=_tuple(cfg.mixedcontent_select),
        ignore=_tuple(cfg.mixedcontent_ignore), baseline=cfg.mixedcontent_baseline,
        config_file=cfg.mixedcontent_config_file, use_config=cfg.mixedcontent_use_config)
    try:
        report = check_build(site_dir, check)
    except MixedContentError as e:
        raise ExtensionError(f"mixedcontent: {e}") from None
    sources = _sources(app)
    for f in report.failing:
        logger.warning(describe(f, site_dir, sources), type="mixedcontent", subtype=f.code)
    for f in report.other:
        logger.info(describe(f, site_dir, sources))
    for err in report.errors:
        logger.warning(describe_error(err, site_dir), type="mixedcontent", subtype="error")
    logger.info(f"mixedcontent: {report.summary()}")


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("mixedcontent_enabled", True, "", bool)
    app.add_config_value("mixedcontent_fail_on", None, "", (str, type(None)))
    app.add_config_value("mixedcontent_select", None, "", (list, tuple, str, type(None)))
    app.add_config_value("mixedcontent_ignore", None, "", (list, tuple, str, type(None)))
    app.add_config_value("mixedcontent_baseline", None, "", (str, type(None)))
    app.add_config_value("mixedcontent_base_url", None, "", (str, type(None)))
    app.add_config_value("mixedcontent_config_file", None, "", (str, type(None)))
    app.add_config_value("mixedcontent_use_config", True, "", bool)
    app.add_config_value("mixedcontent_builders", HTML_BUILDERS, "", (list, tuple))
    app.connect("build-finished", on_build_finished)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
