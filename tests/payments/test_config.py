"""The typology pack: loads, validates with key and line, and takes user rules."""

from __future__ import annotations

import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import ConfigError, default_pack_text, load_pack, parse_pack
from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES
from payments.tiny import tiny_world


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_default_pack_loads_and_every_typology_cites_a_source() -> None:
    pack = load_pack()
    assert pack.version
    assert {t.subject for t in pack.typologies} == {"customer", "beneficiary"}
    assert all(len(t.source) > 5 for t in pack.typologies)
    assert "PH" in pack.corridor_countries


def test_typo_in_a_key_names_the_key_its_line_and_a_suggestion() -> None:
    text = default_pack_text().replace("corridor_countries:", "coridor_countries:", 1)
    with pytest.raises(ConfigError) as err:
        parse_pack(text, "rules.yaml")
    message = str(err.value)
    line = _line_of(text, "coridor_countries:")
    assert f"line {line}, 'coridor_countries'" in message
    assert "did you mean 'corridor_countries'" in message
    assert "rules.yaml" in message


def test_all_problems_are_reported_together_with_lines() -> None:
    # a misspelt key on the first typology's weight line (whatever its fitted value)
    weight = f"weight: {parse_pack(default_pack_text(), 'default').typologies[0].weight}"
    misspelt = weight.replace("weight", "wieght")
    text = (
        default_pack_text()
        .replace(weight, misspelt, 1)
        .replace("ramp(night_share, 0.25, 0.6)", "ramp(nite_share, 0.25, 0.6)", 1)
        .replace("  PHP: 0.0175", "  XYZ: 0.0175", 1)
    )
    with pytest.raises(ConfigError) as err:
        parse_pack(text, "rules.yaml")
    problems = err.value.problems
    joined = "\n".join(problems)
    assert len(problems) >= 3, joined
    assert f"line {_line_of(text, misspelt)}" in joined
    assert "unknown ISO 4217 currency code(s) ['XYZ']" in joined
    # the rule error is only found once the pack's shape is valid: fix the others
    text2 = text.replace(misspelt, weight).replace("  XYZ:", "  PHP:")
    with pytest.raises(ConfigError) as err2:
        parse_pack(text2, "rules.yaml")
    rule_problem = "\n".join(err2.value.problems)
    assert "unknown feature 'nite_share'; did you mean 'night_share'?" in rule_problem
    assert f"line {_line_of(text2, 'nite_share')}" in rule_problem


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("(SELECT 1)", "not allowed"),
        ("night_share; DROP TABLE x", "not allowed|not a valid SQL expression"),
        ("night_share +", "not a valid SQL expression"),
        ("read_csv('x')", "not allowed"),
        ("mystery(night_share)", "unknown function 'mystery'"),
        ("t.night_share", "by name only"),
        ("ramp(night_share, 1)", "three arguments"),
    ],
)
def test_unsafe_or_broken_rules_are_refused(rule: str, reason: str) -> None:
    text = default_pack_text().replace(
        "strength: ramp(night_share, 0.25, 0.6) * ramp(corridor_payments, 2, 6)",
        f'strength: "{rule}"',
        1,
    )
    with pytest.raises(ConfigError, match=reason):
        parse_pack(text, "rules.yaml")


def test_a_user_rule_in_yaml_changes_alerts_without_python() -> None:
    tx, cu = tiny_world()
    base = scan_frames(tx, cu)
    assert "C4" not in {a.subject_id for a in base.alerts}
    extra = """
  - id: any_wire_to_corridor
    title: Test rule added by a user
    source: internal policy 2026-01
    subject: customer
    strength: "CASE WHEN corridor_payments >= 1 AND channel_risk < 0.5 THEN 1 ELSE 0 END"
    weight: 12.0
    fires_at: 0.5
    explain: "Wire payment to the corridor ({corridor_payments:int})."
"""
    text = default_pack_text().replace("\ncalibration:", extra + "\ncalibration:", 1)
    text = text.replace("min_corridor_payments: 2", "min_corridor_payments: 1")
    pack = parse_pack(text, "user.yaml")
    result = scan_frames(tx, cu, pack=pack)
    c4 = [a for a in result.alerts if a.subject_id == "C4"]
    assert c4 and "any_wire_to_corridor" in c4[0].typologies
    assert "Wire payment to the corridor (1)." in c4[0].explanation


def test_documented_features_are_what_the_compiler_produces() -> None:
    tx, cu = tiny_world()
    result = scan_frames(tx, cu)
    assert set(CUSTOMER_FEATURES) <= set(result.customer_scores.columns)
    assert set(BENEFICIARY_FEATURES) <= set(result.beneficiary_scores.columns)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("@[a-z0-9_.", "not a valid regular expression"),
        ("(?<=@)[a-z]{3,}", "lookaround"),
        (r"(@)[a-z]\1", "backreferences"),
    ],
)
def test_a_handle_pattern_every_engine_cannot_run_is_refused_at_load(
    pattern: str, reason: str
) -> None:
    # It used to load, and the scan failed in the middle of its SQL.
    text = default_pack_text().replace(
        'handle_pattern: "@[a-z0-9_.]{3,}"', f"handle_pattern: '{pattern}'", 1
    )
    assert text != default_pack_text()
    with pytest.raises(ConfigError, match=reason) as err:
        parse_pack(text, "rules.yaml")
    line = default_pack_text().splitlines().index('handle_pattern: "@[a-z0-9_.]{3,}"') + 1
    assert f"line {line}, 'handle_pattern'" in str(err.value)


def test_a_literal_backslash_before_a_digit_is_no_backreference() -> None:
    text = default_pack_text().replace(
        'handle_pattern: "@[a-z0-9_.]{3,}"', r"handle_pattern: '@[a-z]+\\1'", 1
    )
    assert parse_pack(text, "rules.yaml").handle_pattern == r"@[a-z]+\\1"


def test_a_curve_finds_the_raw_score_of_a_probability() -> None:
    from daybreak.payments.config import Curve

    curve = Curve(x=(0.0, 0.4, 0.6, 1.0), y=(0.0, 0.1, 0.5, 1.0))
    assert curve.first_raw_at(0.3) == pytest.approx(0.5)
    assert curve.first_raw_at(0.5) == pytest.approx(0.6)
    assert curve.first_raw_at(0.0) == 0.0
    assert Curve(x=(0.0, 1.0), y=(0.0, 0.4)).first_raw_at(0.5) == float("inf")
