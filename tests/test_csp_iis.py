"""The IIS web.config snippet. There is no IIS on this machine, so the XML is validated (lxml) against
fixtures/iis/web.config.xsd, the structure IIS expects for system.webServer/httpProtocol/customHeaders/add
and the URL Rewrite module's rewrite/rules/rule (match, conditions, action) and outboundRules; then its
meaning is checked element by element."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT
from lxml import etree

SCHEMA = os.path.join(ROOT, "fixtures", "iis", "web.config.xsd")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(SCHEMA))


def web_config(run: Callable[..., object], tmp_path: Path, html: str = "<p>x") -> tuple[etree._Element, dict]:
    root = tmp_path / "public"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text(html, encoding="utf-8")
    r = run("csp", str(root), "--format", "json")
    d = json.loads(r.out)  # type: ignore[attr-defined]
    text = d["snippets"]["iis"]["text"]
    return etree.fromstring(text.encode("utf-8")), d


def test_web_config_is_valid_for_iis(run, tmp_path, schema) -> None:
    doc, _ = web_config(run, tmp_path)
    schema.assertValid(doc)


def test_schema_rejects_what_iis_would_not_know(schema) -> None:
    broken = etree.fromstring(
        b'<configuration><system.webServer><rewrite><rules><rule name="r"><match url="(.*)"/>'
        b'<action type="Redirect" url="https://x/" redirectType="Permanently"/></rule></rules></rewrite>'
        b'</system.webServer></configuration>')
    assert schema.validate(broken) is False


def test_custom_headers_carry_the_report_only_policy(run, tmp_path) -> None:
    doc, d = web_config(run, tmp_path, '<img src="http://cdn.example/a.png">')
    added = {a.get("name"): a.get("value") for a in doc.iterfind("system.webServer/httpProtocol/customHeaders/add")}
    expected = {h["name"]: h["value"] for h in d["headers"]}
    assert added == {"Content-Security-Policy-Report-Only": expected["Content-Security-Policy-Report-Only"],
                     "Reporting-Endpoints": expected["Reporting-Endpoints"]}


def test_upgrade_header_is_a_custom_header_when_safe(run, tmp_path) -> None:
    doc, _ = web_config(run, tmp_path, "<p>nothing insecure")
    names = [a.get("name") for a in doc.iterfind("system.webServer/httpProtocol/customHeaders/add")]
    assert "Content-Security-Policy" in names


def test_unproven_upgrade_header_is_only_a_comment(run, tmp_path) -> None:
    doc, _ = web_config(run, tmp_path, '<img src="http://cdn.example/a.png">')
    custom = doc.find("system.webServer/httpProtocol/customHeaders")
    names = [a.get("name") for a in custom.iterfind("add")]
    comments = [c.text for c in custom if isinstance(c, etree._Comment)]
    assert "Content-Security-Policy" not in names
    assert any('name="Content-Security-Policy" value="upgrade-insecure-requests"' in c for c in comments)


def test_http_to_https_rule_is_the_umbraco_rule_with_its_localhost_exception(run, tmp_path) -> None:
    doc, _ = web_config(run, tmp_path)
    rule = doc.find("system.webServer/rewrite/rules/rule")
    assert (rule.get("name"), rule.get("stopProcessing")) == ("HTTP to HTTPS redirect", "true")
    assert rule.find("match").get("url") == "(.*)"
    conditions = [dict(c.attrib) for c in rule.iterfind("conditions/add")]
    assert conditions == [{"input": "{HTTPS}", "pattern": "off", "ignoreCase": "true"},
                          {"input": "{HTTP_HOST}", "pattern": "localhost", "negate": "true"}]
    assert dict(rule.find("action").attrib) == {"type": "Redirect", "url": "https://{HTTP_HOST}/{R:1}",
                                                "redirectType": "Permanent"}


def test_hsts_is_added_on_https_responses_only(run, tmp_path) -> None:
    doc, _ = web_config(run, tmp_path)
    headers = [a.get("name") for a in doc.iterfind("system.webServer/httpProtocol/customHeaders/add")]
    rule = doc.find("system.webServer/rewrite/outboundRules/rule")
    assert "Strict-Transport-Security" not in headers
    assert rule.find("match").get("serverVariable") == "RESPONSE_Strict_Transport_Security"
    assert [dict(c.attrib) for c in rule.iterfind("conditions/add")] == [
        {"input": "{HTTPS}", "pattern": "on", "ignoreCase": "true"}]
    assert dict(rule.find("action").attrib) == {"type": "Rewrite",
                                                "value": "max-age=31536000; includeSubDomains; preload"}
