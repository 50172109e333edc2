"""The documented feature columns the typologies and the supervised model read.

Names and meanings are part of the rule-writing contract: a user's rule may use any
numeric feature below (docs/detectors/payments.md lists them). Text features exist for
explanations only.
"""

from __future__ import annotations

CUSTOMER_FEATURES: dict[str, str] = {
    "corridor_payments": "outbound international payments to a corridor country",
    "corridor_beneficiaries": "distinct corridor beneficiaries paid",
    "unrelated_beneficiaries": "corridor beneficiaries sharing no surname with the sender",
    "female_beneficiaries": "unrelated beneficiaries with a female given name",
    "related_share": "share of corridor payments to beneficiaries with a family tie",
    "unrelated_share": "share of corridor payments to beneficiaries without a family tie",
    "unrelated_families": "unrelated beneficiaries, each household abroad counted once "
    "(unless the sender pays its members on the same days)",
    "unnamed_share": "share of corridor payments to a beneficiary with no name, each "
    "weighted by its channel's risk (a crypto wallet or handle with no beneficiary "
    "information)",
    "household_share": "share of corridor payments to members of one household abroad: "
    "beneficiaries sharing a family name with each other (not with the sender) under "
    "different given names",
    "alias_share": "share of corridor payments to a person abroad whom the sender also "
    "pays on another account (the same given and family name, or the two in the other "
    "order; no family tie, not an organisation)",
    "corridor_total_ref": "total paid to the corridor, in the reference currency",
    "corridor_median_ref": "median corridor payment, in the reference currency",
    "corridor_max_ref": "largest corridor payment, in the reference currency",
    "low_value_share": "share of corridor payments at or under the low-value cap",
    "night_share": "share of corridor payments between night start and end, sender-local",
    "cover_word_payments": "corridor payments whose reference has a cover word or handle",
    "cover_word_share": "share of corridor payments with a cover word or handle",
    "amount_trend": "correlation of amount with payment order (-1..1; > 0 rising)",
    "gap_trend": "correlation of the gap before a payment with its order (< 0 shrinking)",
    "active_days": "days between the first and the last corridor payment",
    "payments_per_30d": "corridor payments per 30 days of activity (at least 30 days)",
    "vpn_purchases": "VPN / software card purchases near corridor payments",
    "webcam_purchases": "webcam / streaming card purchases near corridor payments",
    "corridor_flights": "airline purchases near corridor payments",
    "related_purchases_expected": "listed purchases (airlines counting twice) expected "
    "near corridor payments at the customer's own rate: all of them times the share of "
    "the period within the window of a corridor payment",
    "related_purchase_excess": "listed purchases near corridor payments (airlines "
    "counting twice) beyond related_purchases_expected",
    "corridor_card_spend": "card or cash transactions in a corridor country",
    "channel_risk": "mean channel risk weight of corridor payments (0..1)",
    "known_offender": "1 when customers.known_offender is true",
    "linked_offender_account": "1 when another customer with the same name and birth year "
    "is a known offender",
    "sender_male": "1 when customers.gender is M",
    "sender_age": "age in years at the last corridor payment (0 when unknown)",
    "gap_cv": "coefficient of variation of the gaps between corridor payments "
    "(about 1 for irregular sending, near 0 for a steady cadence)",
    "office_share": "share of corridor payments 08:00-18:00 sender-local",
    "round_share": "share of corridor amounts in whole tens (own currency)",
    "run_share": "share of corridor payments made on a day the sender paid two or more "
    "beneficiaries (pay runs)",
    "payroll_pattern": "payroll-likeness in [0, 1]: several beneficiaries paid in runs, "
    "office hours, about monthly each, round amounts",
    "irregular_rate": "payments per 30 days, discounted for a steady cadence "
    "(ramp(gap_cv, 0.3, 0.7)) and for the payroll pattern",
    "cover_specific_share": "cover-word payments weighted by each word's specificity to "
    "senders paying a hub (0..1; handles count fully)",
    "top_cover_word_spec": "specificity (0..1) of the most specific cover word used",
    "peer_anomaly": "mean percentile rank of night_share, unrelated_beneficiaries, "
    "cover_specific_share, low_value_share x unrelated_share and irregular_rate among "
    "peers (same corridor country, currency and channel)",
    "network_evidence": "evidence reaching the customer through its unrelated "
    "beneficiaries from their other senders (0..1; network)",
    "hub_other_senders": "most other unrelated, non-payroll senders paying one of this "
    "customer's beneficiaries (network)",
    "hub_suspect_senders": "most other senders with a high first-stage score paying one "
    "of this customer's beneficiaries (network)",
    "hub_accounts": "most accounts read as one person's among this customer's unrelated "
    "beneficiaries (1 when each is an account of its own; network)",
    # for explanations only
    "first_amounts": "mean of the first three corridor amounts (own currency)",
    "last_amounts": "mean of the last three corridor amounts (own currency)",
    "median_amount": "median corridor amount (own currency)",
    "corridor_total": "total corridor amount (own currency)",
    "currency": "the customer's corridor payment currency (text)",
    "countries": "corridor countries paid (text)",
    "main_channel": "channels used for corridor payments (text)",
    "top_cover_word": "a cover word found in references (text)",
}

BENEFICIARY_FEATURES: dict[str, str] = {
    "inbound_payments": "corridor payments received from abroad",
    "inbound_senders": "distinct senders",
    "unrelated_senders": "senders sharing no surname with the beneficiary",
    "inbound_low_value_share": "share of inbound payments under the low-value cap",
    "inbound_cover_word_share": "share of inbound payments with cover words or handles",
    "inbound_night_share": "share of inbound payments sent at the sender's local night",
    "inbound_unnamed_share": "share of inbound payments that name no beneficiary, each "
    "weighted by its channel's risk (e.g. to a crypto wallet)",
    "inbound_median_ref": "median inbound amount, in the reference currency",
    "sender_countries": "distinct sender countries",
    "inbound_specific_cover_share": "inbound payments with cover words, each weighted "
    "by the word's specificity (0..1)",
    "organisation": "1 when the beneficiary's name reads as an organisation",
    "weighted_senders": "unrelated senders weighted by how unusual each tie is (payroll "
    "senders and organisations count 0; network)",
    "sender_suspicion": "noisy-OR of its unrelated senders' evidence after propagation "
    "(0..1; network)",
    "alerted_senders": "unrelated senders with a high first-stage score (network)",
    "person_accounts": "accounts read as the same person's as this one, itself included "
    "(same full name with two family names, one country, at most 3 accounts at different "
    "providers); the network features are that person's (network)",
    "sole_sender": "the one customer who pays it, when only one does (text; its score "
    "caps the beneficiary's)",
    "sole_sender_tie": "how firmly that one customer is tied to it: ramp(payments, 0.5, 2) "
    "when they share no family name and it is neither an organisation nor one of a "
    "household abroad the customer pays (unless the customer splits payments over the "
    "household's accounts on the same days, run_share >= 0.5), else 0 (an alerted sole "
    "sender raises the "
    "beneficiary's score to his score times this)",
    # for explanations only
    "inbound_median": "median inbound amount (senders' currency)",
    "sole_sender_score": "the sole sender's score, which caps the beneficiary's",
    "capped_by_sender": "whether the sole sender's score lowered the beneficiary's",
    "raised_by_sender": "whether the alerted sole sender's score raised the beneficiary's",
    "currency": "the most common sender currency (text)",
    "countries": "beneficiary country (text)",
}

TEXT_FEATURES = frozenset(
    {"currency", "countries", "main_channel", "top_cover_word", "sole_sender"}
)
EXPLAIN_ONLY = (
    frozenset(
        {
            "first_amounts",
            "last_amounts",
            "median_amount",
            "corridor_total",
            "inbound_median",
            "sole_sender_score",
            "capped_by_sender",
            "raised_by_sender",
            # how many accounts the graph read as one person's: its effect is in the
            # network features already; named in explanations, not a model input
            "hub_accounts",
            "person_accounts",
        }
    )
    | TEXT_FEATURES
)


def model_features(subject: str) -> list[str]:
    """Numeric features the supervised model is trained on, in a fixed order."""
    names = CUSTOMER_FEATURES if subject == "customer" else BENEFICIARY_FEATURES
    return [n for n in names if n not in EXPLAIN_ONLY]
