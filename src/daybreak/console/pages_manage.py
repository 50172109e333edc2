"""The "Hash banks & rules" pages. Everyone in the console may look; supervisors and
admins may change. Changes are recorded in the audit trail through the backend.

Only hashes and their metadata are ever shown: a bank holds no media, and neither does
this page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from daybreak.console.backend import ActionError, ConsoleUser
from daybreak.console.manage import (
    RulesView,
    add_hash,
    bank_entries,
    read_rules,
    save_rules,
)
from daybreak.console.web import (
    PREFIX,
    ConsolePageError,
    form_text,
    posted,
    redirect,
    render,
    require_manager,
    signed_in,
    state_of,
)
from daybreak.media.banks import HASH_TYPES, NAME_MAX, BankError, BankStore, check_bank_name
from daybreak.payments.config import ConfigError

router = APIRouter()
ENTRIES_SHOWN = 200
MAX_RULES_BYTES = 256 * 1024


def _context(
    store: BankStore | None, bank: str, rules: RulesView, text: str, problems: list[str]
) -> dict[str, Any]:
    banks = store.banks() if store else []
    selected = next((b for b in banks if b.name == bank), banks[0] if banks else None)
    entries = bank_entries(store, selected.name, ENTRIES_SHOWN) if store and selected else []
    return {
        "banks": banks,
        "banks_available": store is not None,
        "selected": selected,
        "entries": entries,
        "hash_types": HASH_TYPES,
        "rules": rules,
        "rules_text": text,
        "rules_problems": problems,
        "nav": "banks",
    }


@router.get("/banks", response_class=HTMLResponse)
def banks_page(request: Request, bank: str = "") -> Response:
    session = signed_in(request)
    manage = state_of(request).manage
    banks = manage.banks_of(session.user.org_id)  # the signed-in user's organisation's
    if banks is not None:
        banks.reload_if_changed()  # the CLI may have imported a list meanwhile
    rules = read_rules(manage.rules_path)
    return render(request, "banks.html", _context(banks, bank, rules, rules.text, rules.problems))


def _banks_changed(request: Request) -> None:
    """The media API caches its matcher; drop it so the next match sees the change."""
    if getattr(request.app.state, "media_matcher", None) is not None:
        request.app.state.media_matcher = None


def _actor(user: ConsoleUser) -> str:
    """How a console user is named in the banks' own audit log."""
    return f"console:{user.username}"


def _bank_url(bank: str) -> str:
    return f"{PREFIX}/banks?bank={quote(bank, safe='')}"


def _bank_name(form: FormData) -> str:
    """The form's bank: the console's forms send a listed bank's name, so anything that
    cannot be a bank name is a hand-made request, refused with 400 naming the field."""
    bank = form_text(form, "bank", max_len=NAME_MAX)
    try:
        return check_bank_name(bank, "bank")
    except BankError as exc:
        raise ConsolePageError(400, "Invalid field", f"The field 'bank': {exc}") from None


def _enabled(form: FormData) -> bool:
    """The toggle's ``enabled`` (the form sends true or false; nothing else is read)."""
    value = form_text(form, "enabled", max_len=5)
    if value not in ("true", "false"):
        raise ConsolePageError(
            400, "Invalid field", f"The field 'enabled' must be true or false, not {value!r}."
        )
    return value == "true"


def _banks(request: Request, user: ConsoleUser) -> BankStore:
    """The banks of the user's organisation, which a bank form changes."""
    banks = state_of(request).manage.banks_of(user.org_id)
    if banks is None:
        raise ConsolePageError(404, "No hash banks", "This installation has no hash banks.")
    return banks


@router.post("/banks/add")
async def bank_add(request: Request) -> Response:
    session, form = await posted(request)
    require_manager(session.user)
    banks = _banks(request, session.user)
    bank = _bank_name(form)
    try:
        value = form_text(form, "value", max_len=200)
        if not value:
            raise ActionError("Enter the hash to add.")
        labels = form_text(form, "labels", max_len=200)
        try:
            kind = form_text(form, "hash_type", max_len=20)
            added = add_hash(banks, bank, kind, value, labels, _actor(session.user))
        except BankError as exc:
            raise ActionError(str(exc)) from exc
        _banks_changed(request)
        state_of(request).backend.record(session.user, "bank.add", bank, f"{added} hash added")
    except ActionError as exc:
        session.flashes.append(("error", exc.message))
    else:
        message = f"Hash added to {bank}." if added else f"That hash is already in {bank}."
        session.flashes.append(("ok", message))
    return redirect(_bank_url(bank))


@router.post("/banks/remove")
async def bank_remove(request: Request) -> Response:
    session, form = await posted(request)
    require_manager(session.user)
    banks = _banks(request, session.user)
    bank = _bank_name(form)
    pair = (form_text(form, "hash_type", max_len=20), form_text(form, "value", max_len=200))
    try:
        removed = banks.remove(bank, [pair], actor=_actor(session.user))
    except BankError as exc:
        session.flashes.append(("error", str(exc)))
        return redirect(_bank_url(bank))
    if removed:
        _banks_changed(request)
        state_of(request).backend.record(session.user, "bank.remove", bank, "1 hash removed")
        session.flashes.append(("ok", f"Hash removed from {bank}."))
    else:
        session.flashes.append(("error", f"That hash is not in {bank}."))
    return redirect(_bank_url(bank))


@router.post("/banks/toggle")
async def bank_toggle(request: Request) -> Response:
    session, form = await posted(request)
    require_manager(session.user)
    banks = _banks(request, session.user)
    bank = _bank_name(form)
    enable = _enabled(form)
    try:
        banks.update(bank, enabled=enable, actor=_actor(session.user))
    except BankError as exc:
        session.flashes.append(("error", str(exc)))
    else:
        word = "enabled" if enable else "disabled"
        _banks_changed(request)
        state_of(request).backend.record(session.user, "bank.update", bank, word)
        session.flashes.append(("ok", f"Bank {bank} {word}."))
    return redirect(_bank_url(bank))


@router.post("/rules", response_class=HTMLResponse)
async def rules_save(request: Request) -> Response:
    session, form = await posted(request)
    require_manager(session.user)
    state = state_of(request)
    path = state.manage.rules_path
    if path is None:
        raise ConsolePageError(
            409, "Rules are read-only", "This installation uses the built-in typology pack."
        )
    raw = form.get("text")
    text = raw.replace("\r\n", "\n") if isinstance(raw, str) else ""
    problems: list[str] = []
    if len(text.encode()) > MAX_RULES_BYTES:
        problems = [f"the pack is larger than {MAX_RULES_BYTES // 1024} KiB"]
    else:
        try:
            pack = save_rules(path, text)
        except ConfigError as exc:
            problems = exc.problems
    if problems:
        banks = state.manage.banks_of(session.user.org_id)
        context = _context(banks, "", read_rules(path), text, problems)
        return render(request, "banks.html", context, status=400)
    state.backend.record(
        session.user,
        "rules.save",
        pack.pack,
        f"version {pack.version}, {len(pack.typologies)} typologies",
    )
    session.flashes.append(("ok", f"Typology pack saved (version {pack.version})."))
    return redirect(f"{PREFIX}/banks#rules")
