"""Identifiers of synthetic people: phones, payment handles, bank accounts, wallets,
platform accounts, e-mails and IPs, all in the normalised forms Daybreak links on.

Phones are valid mobile ranges of each country (E.164); IPs come from address blocks
that geolocate to the country; e-mails use reserved example domains; platforms are
fictional services.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np

# country -> (calling code, mobile prefixes, national number length); every prefix was
# checked with the phonenumbers library to give valid mobile numbers only.
PHONE_PLANS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "AU": ("61", ("400", "407", "414", "421", "428", "435", "447", "455", "462", "469"), 9),
    "US": ("1", ("2125", "3124", "4155", "6176", "7136", "2067", "3058", "4045", "5126"), 10),
    "GB": ("44", ("740", "743", "751", "755", "772", "775", "780", "785", "792", "796"), 10),
    "DE": ("49", ("151", "152", "157", "160", "162", "170", "171", "172", "175", "176"), 11),
    "FR": ("33", ("600", "613", "626", "640", "653", "666", "679", "755", "768", "781"), 9),
    "NL": ("31", ("610", "615", "620", "625", "630", "635", "640", "645", "650", "655"), 9),
    "ES": ("34", ("6",), 9),
    "IT": ("39", ("320", "328", "333", "338", "340", "347", "349", "380", "388", "393"), 10),
    "PH": ("63", ("917", "918", "919", "920", "921", "927", "928", "939", "945", "977", "995"), 10),
    "TH": ("66", ("81", "82", "83", "84", "85", "86", "87", "88", "89", "61", "62", "91"), 9),
    "CO": ("57", ("300", "301", "310", "311", "312", "313", "314", "315", "316", "320"), 10),
    "MX": ("52", ("55", "33", "81"), 10),
    "DO": ("1", ("8092", "8293", "8494", "8095"), 10),
    "IN": ("91", ("98", "99", "97", "96", "94", "90", "88", "70", "80"), 10),
    "VN": ("84", ("90", "91", "93", "94", "96", "97", "98", "33", "35"), 9),
    "CN": ("86", ("138", "139", "135", "136", "137", "150", "151", "186", "188"), 11),
    "NG": ("234", ("803", "806", "813", "816", "703", "706", "810", "903"), 10),
    "GH": ("233", ("24", "54", "55", "20", "50", "27"), 9),
    "MY": ("60", ("120", "125", "131", "136", "143", "149", "164", "169", "175", "192"), 9),
    "CA": ("1", ("4162", "6472", "6042", "7782", "5142", "4032", "5872", "6132", "9022"), 10),
    "NZ": ("64", ("21", "22", "27"), 9),
    "ID": ("62", ("812", "813", "821", "822", "852", "853", "857", "878"), 11),
}

# country -> wallet providers (handle = phone) and banks (provider, account digits)
PROVIDERS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, int], ...]]] = {
    "PH": (("gcash", "maya", "palawan"), (("bdo", 12), ("bpi", 10), ("landbank", 10))),
    "TH": (("promptpay", "truemoney"), (("kbank", 10), ("scb", 10), ("bbl", 10))),
    "CO": (("nequi", "daviplata"), (("bancolombia", 11), ("davivienda", 12))),
    "MX": (("mercadopago",), (("spei", 18),)),
    "DO": (("tpago",), (("banreservas", 10), ("popular", 9))),
    "IN": (("paytm",), (("sbi", 11), ("hdfc", 14))),
    "VN": (("momo",), (("vietcombank", 13),)),
    "CN": (("alipay",), (("icbc", 19),)),
    "NG": (("opay",), (("gtbank", 10), ("zenith", 10))),
    "GH": (("mtnmomo",), (("gcb", 13),)),
    "MY": (("tng",), (("maybank", 12),)),
    "ID": (("gopay", "ovo", "dana"), (("bca", 10), ("mandiri", 13), ("bri", 15))),
}

IP_BLOCKS: dict[str, tuple[str, ...]] = {
    "AU": ("1.120", "1.121", "124.168", "124.170"),
    "US": ("73.0", "73.10", "98.0", "24.0"),
    "GB": ("81.100", "2.24", "31.48", "86.128"),
    "DE": ("91.0", "84.128", "62.224", "79.192"),
    "FR": ("86.200", "82.120", "90.0", "92.140"),
    "NL": ("77.160", "145.128", "83.80", "84.80"),
    "ES": ("83.32", "88.26", "79.144", "81.32"),
    "IT": ("79.20", "93.32", "87.0", "151.20"),
    "PH": ("49.144", "112.198", "120.28"),
    "TH": ("1.46", "27.55", "49.49", "171.96"),
    "CO": ("181.48", "190.24", "191.88", "186.80"),
    "MX": ("187.130", "189.200", "148.240"),
    "DO": ("152.166", "190.166", "200.88", "186.6"),
    "IN": ("117.200", "49.36", "106.200", "122.160"),
    "VN": ("113.160", "14.160", "27.64", "171.224"),
    "CN": ("114.240", "123.112", "221.0", "36.100"),
    "NG": ("105.112", "41.58", "102.88", "197.210"),
    "GH": ("154.160",),
    "MY": ("175.136", "115.132", "60.48", "1.9"),
    "CA": ("24.114", "99.224", "142.112", "70.48"),
    "NZ": ("121.98", "203.97", "125.236", "122.56"),
    "ID": ("36.68", "110.136", "114.124", "180.241"),
}
# Domestic P2P rails whose handles are phone numbers (the others are bank accounts).
PHONE_RAILS = ("payid", "zelle", "interac")

# Fictional platforms: (service, account id style)
SERVICES = ("streamly", "chatterbox", "vidlink", "kinnect", "hoopla")
MAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "inbox.example")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _digits(rng: np.random.Generator, n: int, width: int) -> list[str]:
    if width <= 0:
        return [""] * n
    hi = rng.integers(0, 10 ** min(width, 9), n)
    if width <= 9:
        return [f"{v:0{width}d}" for v in hi]
    lo = rng.integers(0, 10 ** (width - 9), n)
    return [f"{a:0{width - 9}d}{b:09d}" for a, b in zip(lo, hi, strict=True)]


def phones(rng: np.random.Generator, country: str, n: int) -> list[str]:
    """E.164 mobile numbers of ``country``."""
    cc, prefixes, length = PHONE_PLANS.get(country, PHONE_PLANS["US"])
    pick = rng.integers(0, len(prefixes), n)
    rest = _digits(rng, n, length - min(len(p) for p in prefixes))
    out = []
    for k in range(n):
        p = prefixes[pick[k]]
        out.append(f"+{cc}{p}{rest[k][: length - len(p)]}")
    return out


def wallet_handles(rng: np.random.Generator, country: str, phone_list: list[str]) -> list[str]:
    wallets = PROVIDERS.get(country, (("wallet",), ()))[0]
    pick = rng.integers(0, len(wallets), len(phone_list))
    return [f"{wallets[i]}:{p}" for i, p in zip(pick, phone_list, strict=True)]


def bank_accounts(rng: np.random.Generator, country: str, n: int) -> list[str]:
    banks = PROVIDERS.get(country, ((), (("bank", 12),)))[1]
    pick = rng.integers(0, len(banks), n)
    numbers = {b: _digits(rng, n, w) for b, w in banks}
    return [f"{banks[i][0]}:{numbers[banks[i][0]][k]}" for k, i in enumerate(pick)]


def domestic_accounts(rng: np.random.Generator, rail: str, country: str, n: int) -> list[str]:
    """Domestic bank accounts on the sender's rail (bills, payroll, P2P by account)."""
    if rail == "sepa":
        return [f"sepa:{iban}" for iban in ibans(rng, country, n)]
    widths = {"bsb": 15, "aba": 18, "sortcode": 14, "nzbank": 16, "cabank": 12}
    return [f"{rail}:{d}" for d in _digits(rng, n, widths.get(rail, 12))]


def ibans(rng: np.random.Generator, country: str, n: int) -> list[str]:
    """Valid-checksum IBANs (country + 2 check digits + numeric BBAN)."""
    lengths = {"DE": 18, "NL": 14, "FR": 23, "ES": 20, "IT": 23}
    bban_len = lengths.get(country, 18)
    out = []
    for bban in _digits(rng, n, bban_len):
        if country == "NL":
            bban = "ABNA" + bban[4:]
        if country == "IT":
            bban = "X" + bban[1:]
        rearranged = bban + country + "00"
        numeric = "".join(str(int(ch, 36)) for ch in rearranged)
        check = 98 - int(numeric) % 97
        out.append(f"{country}{check:02d}{bban}")
    return out


def random_strings(rng: np.random.Generator, n: int, alphabet: str, length: int) -> list[str]:
    """``n`` random strings of ``length`` characters from ``alphabet`` (ASCII)."""
    if n == 0:
        return []
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    blob = table[rng.integers(0, len(table), (n, length))].tobytes().decode("ascii")
    return [blob[i : i + length] for i in range(0, n * length, length)]


def crypto_wallets(rng: np.random.Generator, n: int) -> list[str]:
    """USDT (TRC-20) style addresses: 'T' + 33 base58 characters."""
    return ["usdt:T" + s for s in random_strings(rng, n, _B58, 33)]


def account_ids(rng: np.random.Generator, n: int) -> list[str]:
    return ["u" + s for s in random_strings(rng, n, _ALNUM, 10)]


def emails(rng: np.random.Generator, names: list[str]) -> list[str]:
    nums = rng.integers(1, 999, len(names))
    dom = rng.integers(0, len(MAIL_DOMAINS), len(names))
    out = []
    for name, k, d in zip(names, nums, dom, strict=True):
        words = [w for w in (_ascii(x) for x in name.replace(",", " ").split()) if len(w) > 1]
        local = ".".join(words[:1] + words[-1:]) if words else "user"
        out.append(f"{local}{k}@{MAIL_DOMAINS[d]}")
    return out


@cache
def _ascii(word: str) -> str:
    """Lower-case ASCII letters and digits of one word ("Müller" -> "muller")."""
    folded = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


def ips(rng: np.random.Generator, countries: list[str]) -> list[str]:
    a = rng.integers(0, 256, len(countries))
    b = rng.integers(1, 255, len(countries))
    pick = rng.random(len(countries))
    out = []
    for c, x, y, u in zip(countries, a, b, pick, strict=True):
        blocks = IP_BLOCKS.get(c, IP_BLOCKS["US"])
        out.append(f"{blocks[int(u * len(blocks))]}.{x}.{y}")
    return out
