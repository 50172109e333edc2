"""Daybreak's own detectors, registered by entry point like any plug-in's.

``pyproject.toml`` names each object below under ``[project.entry-points."daybreak.detectors"]``.
Nothing heavy is imported here: each detector and its world reader load when it runs.
"""

from __future__ import annotations

from daybreak.detectors.info import DetectorInfo, DetectorOption
from daybreak.detectors.streaming import StreamDetectorInfo

PAYMENTS = DetectorInfo(
    name="payments",
    label="Payments (typology pack)",
    description=(
        "Payers and facilitators of live-streamed abuse in transactions: the typology "
        "pack's SQL on DuckDB, scored and explained."
    ),
    factory="daybreak.engines.payments:PaymentsDetector",
    read_world="daybreak.payments:payments_input",
    reads=("transactions", "customers"),
    order=0,
)

TIPLINE = DetectorInfo(
    name="tipline",
    label="Tipline reports",
    description=(
        "One alert per report: its triaged cluster's tier and reasons when given, else "
        "how strongly the report type alone suggests a child at risk."
    ),
    factory="daybreak.tipline.detector:TiplineDetector",
    read_world="daybreak.tipline.detector:tipline_input",
    reads=("reports",),
    order=1,
)

MEDIA = DetectorInfo(
    name="media",
    label="Known-material hash matches",
    description=(
        "One alert per account whose media sightings match a hash list of known material."
    ),
    factory="daybreak.media.detector:MediaDetector",
    read_world="daybreak.media.detector:media_input",
    reads=("media_sightings",),
    options=(
        DetectorOption(
            "home",
            "--media-home",
            "Media folder with the hash banks (banks/ and index/); "
            "default $DAYBREAK_MEDIA_HOME or ./daybreak-media.",
            kind="path",
        ),
    ),
    order=2,
)

STREAM_PAYMENT = DetectorInfo(
    name="stream_payment",
    label="Live stream - payment coincidence",
    description=(
        "Streams or calls to a bank customer's platform account that coincide, again and "
        "again, with that customer's payments to the streamer's country: compiled SQL on "
        "DuckDB or Spark, each alert naming the shows, the payments and the minutes between."
    ),
    factory="daybreak.engines.stream_payment:StreamPaymentDetector",
    read_world="daybreak.platform.inputs:stream_payment_input",
    reads=("platform_events", "identifiers", "transactions", "customers"),
    options=(
        DetectorOption(
            "window_minutes",
            "--window-minutes",
            "A payment this many minutes before or after a show starts coincides with it.",
            kind="int",
            default=90,
        ),
        DetectorOption(
            "min_shows",
            "--min-shows",
            "Coinciding shows an alert needs (the same streamer, customer and payee).",
            kind="int",
            default=2,
        ),
    ),
    order=3,
)

GROOMING = DetectorInfo(
    name="grooming",
    label="Grooming contact patterns",
    description=(
        "Accounts not known to be minors that reach out to many minors who do not know "
        "each other, move fast from friend request to message to call, across borders, "
        "and come back on new accounts on the same device: compiled SQL on DuckDB or "
        "Spark over platform metadata, each alert naming the minors, events and hours."
    ),
    factory="daybreak.engines.grooming:GroomingDetector",
    read_world="daybreak.platform.inputs:grooming_input",
    reads=("platform_events", "platform_accounts"),
    options=(
        DetectorOption(
            "min_targets",
            "--min-targets",
            "Minors an account (with those sharing its device or IP) must have reached "
            "out to before it is scored.",
            kind="int",
            default=2,
        ),
    ),
    order=4,
)

SEXTORTION = DetectorInfo(
    name="sextortion",
    label="Financial sextortion",
    description=(
        "Payment handles abroad that bank customers paid, on their teenager's behalf, "
        "hours or days after a new account contacted the teenager and called, with the "
        "same handle paid by several unrelated families: compiled SQL on DuckDB or Spark "
        "joining platform metadata and payments, each alert naming the contacts, calls "
        "and payments."
    ),
    factory="daybreak.engines.sextortion:SextortionDetector",
    read_world="daybreak.platform.inputs:sextortion_input",
    reads=("platform_events", "platform_accounts", "identifiers", "transactions"),
    options=(
        DetectorOption(
            "window_days",
            "--window-days",
            "Payments this many days after the first contact belong to the episode.",
            kind="int",
            default=14,
        ),
    ),
    order=5,
)

RECRUITMENT_ADS = DetectorInfo(
    name="recruitment_ads",
    label="Recruitment ads and fake profiles",
    description=(
        "Phones, payment handles and photo hashes reused across online-job and model ads "
        "and profiles from many accounts, in several cities and services (the Memex "
        "pattern): compiled SQL on DuckDB or Spark over platform_ads, each alert naming "
        "the ads, accounts and cities."
    ),
    factory="daybreak.engines.ads:AdsDetector",
    read_world="daybreak.platform.inputs:ads_input",
    reads=("platform_ads",),
    options=(
        DetectorOption(
            "min_ads",
            "--min-ads",
            "Ads a phone, handle or photo must appear in before it is scored.",
            kind="int",
            default=2,
        ),
    ),
    order=6,
)


# -- stream detectors (``daybreak.stream_detectors``: fed a batch at a time) -------------

STREAM_PAYMENT_INCREMENTAL = StreamDetectorInfo(
    name="stream_payment",
    label="Live stream - payment coincidence (streamed)",
    description=(
        "The stream-payment coincidence kept incrementally over a time window as shows "
        "and payments stream in: the batch detector's alerts, raised as the payment or "
        "show that completes the evidence arrives. Options: reference (world folder with "
        "identifiers and customers), window_minutes, min_shows, lateness_minutes."
    ),
    factory="daybreak.engines.stream_payment:incremental",
    reads=("platform_events", "transactions"),
)
