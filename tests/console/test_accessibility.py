"""Accessibility checks that do not need a browser: labels, names, structure, contrast."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from console_world import TOP_CASE

from daybreak.console import graphview

CSS = (Path(__file__).resolve().parents[2] / "src/daybreak/console/static/console.css").read_text()
PAGES = ["/console/queue", f"/console/cases/{TOP_CASE}", "/console/dashboards", "/console/banks"]


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.labels: set[str] = set()
        self.controls: list[tuple[str, str, bool]] = []  # tag, id, has aria-label
        self.h1 = 0
        self.first_link = ""
        self.ids: set[str] = set()
        self.unnamed: list[str] = []
        self._open: list[tuple[str, dict[str, str | None], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "html":
            self.lang = a.get("lang") or ""
        elif tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        elif tag == "h1":
            self.h1 += 1
        elif tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.controls.append((tag, a.get("id") or "", "aria-label" in a))
        if tag == "a" and not self.first_link:
            self.first_link = a.get("href") or ""
        if tag in ("a", "button"):
            self._open.append((tag, a, []))

    def handle_data(self, data: str) -> None:
        for _, _, texts in self._open:
            texts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("a", "button") and self._open and self._open[-1][0] == tag:
            _, attrs, texts = self._open.pop()
            if not "".join(texts).strip() and not attrs.get("aria-label"):
                self.unnamed.append(f"{tag} {attrs}")


def test_every_page_is_labelled_and_structured(client_for: Callable[[str], httpx.Client]) -> None:
    client = client_for("sam")
    with httpx.Client(base_url=client.base_url) as anonymous:
        pages = [(p, client.get(p).text) for p in PAGES]
        pages.append(("/console/sign-in", anonymous.get("/console/sign-in").text))
    for path, html in pages:
        s = _Structure()
        s.feed(html)
        assert s.lang == "en", path
        assert s.h1 == 1, path
        assert s.first_link == "#main" and "main" in s.ids, f"{path}: skip link first"
        for tag, ident, aria in s.controls:
            assert aria or (ident and ident in s.labels), f"{path}: unlabelled {tag} {ident!r}"
        assert s.unnamed == [], f"{path}: links or buttons without a name"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def css_var(name: str) -> str:
    found = re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})", CSS)
    assert found, name
    return found.group(1)


def css_rule(selector: str, prop: str) -> str:
    found = re.search(rf"{re.escape(selector)}\s*\{{[^}}]*\b{prop}:\s*(#[0-9a-fA-F]{{6}})", CSS)
    assert found, f"{selector} {prop}"
    return found.group(1)


def test_contrast_is_wcag_aa() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    paper, wash = css_var("paper"), css_var("wash")
    for text in ("ink", "muted", "link"):
        assert contrast(css_var(text), paper) >= 4.5, text
        assert contrast(css_var(text), wash) >= 4.5, text
    assert contrast(css_var("ok-ink"), css_var("ok-bg")) >= 4.5
    assert contrast(css_var("err-ink"), css_var("err-bg")) >= 4.5
    for tier in range(1, 7):  # white text on the tier badges
        assert contrast(css_rule(f".tier-{tier}", "background"), "#ffffff") >= 4.5, tier
    assert contrast("#ffffff", css_var("brand")) >= 4.5  # the top bar


def test_graph_colours_stand_out_from_the_background() -> None:
    for kind, colour in [*graphview.KIND_COLOURS.items(), ("other", graphview.DEFAULT_COLOUR)]:
        assert contrast(colour, "#fbfcfd") >= 3.0, kind  # WCAG 1.4.11 for graphics
