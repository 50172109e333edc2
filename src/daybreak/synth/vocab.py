"""Payment-reference vocabularies in several languages.

Offenders write what facilitators tell them to, often in the facilitator's language
("pang-load", "uang jajan"); families and students write everyday words in their own.
A detector whose keyword list is English only should be tested on worlds whose
references are not. Each vocabulary has neutral everyday words and the cover words
offenders use (payments-indicators.md, indicators 6 and 7: school fees, gift, medical
bills, uniform, accommodation, family support, load, expenses), translated or written
the way people type them in a banking app (Vietnamese with and without diacritics,
Thai romanised).

``en`` keeps exactly the words the non-randomised worlds have always used, in the same
order, so those worlds stay byte-identical.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    language: str  # ISO 639-1
    cover: tuple[str, ...]  # cover words offenders write
    plain: tuple[str, ...]  # neutral words on any transfer
    family: tuple[str, ...]  # family remittances
    allowance: tuple[str, ...]  # a student's allowance, food, rent
    gift: tuple[str, ...]  # birthdays and holidays
    p2p: tuple[str, ...]  # everyday domestic transfers between friends
    for_word: str  # "for <word>" styling of a cover word


VOCABULARIES: dict[str, Vocabulary] = {
    v.language: v
    for v in (
        Vocabulary(
            "en",
            cover=(
                "school fees",
                "gift",
                "medical bills",
                "uniform",
                "accommodation",
                "family support",
                "education",
                "allowance",
                "tuition",
                "bday gift",
                "load",
                "expenses",
            ),
            plain=("transfer", "payment", "thanks", "for you"),
            family=(
                "family support",
                "allowance",
                "monthly support",
                "tuition",
                "school fees",
                "groceries",
                "rent",
                "household",
                "for mum",
                "bills",
            ),
            allowance=(
                "allowance",
                "food",
                "rent",
                "weekly allowance",
                "groceries",
                "pocket money",
                "dorm rent",
                "books",
                "transport",
            ),
            gift=("birthday gift", "gift", "Merry Christmas", "happy birthday"),
            p2p=(
                "dinner",
                "rent",
                "thanks!",
                "split bill",
                "beers",
                "birthday",
                "petrol",
                "tickets",
            ),
            for_word="for",
        ),
        Vocabulary(
            "tl",
            cover=(
                "pang-tuition",
                "regalo",
                "pambayad ospital",
                "uniporme",
                "pang-load",
                "baon",
                "gamot",
                "tulong",
                "pang-upa",
                "pambili gatas",
                "bayad eskwela",
                "pasalubong",
            ),
            plain=("padala", "bayad", "salamat", "para sa'yo"),
            family=(
                "padala",
                "para kay Nanay",
                "pang gastos",
                "para kay Tatay",
                "pambayad kuryente",
                "pang-grocery",
                "tulong sa bahay",
            ),
            allowance=("baon", "pagkain", "pang-upa", "pamasahe", "pang-dorm", "allowance"),
            gift=("pamasko", "regalo", "maligayang kaarawan", "Maligayang Pasko"),
            p2p=("hapunan", "upa", "salamat!", "hati sa bill", "pamasahe", "kaarawan"),
            for_word="para sa",
        ),
        Vocabulary(
            "es",
            cover=(
                "colegiatura",
                "regalo",
                "gastos médicos",
                "uniforme",
                "útiles escolares",
                "ayuda",
                "medicinas",
                "renta",
                "matrícula",
                "cumpleaños",
                "recarga",
                "gastos",
            ),
            plain=("transferencia", "pago", "gracias", "para ti"),
            family=(
                "para mamá",
                "ayuda familiar",
                "gastos de la casa",
                "remesa",
                "para la comida",
                "pago de luz",
            ),
            allowance=("mesada", "comida", "renta", "alquiler", "pasajes", "gastos de estudio"),
            gift=("regalo", "feliz cumpleaños", "feliz navidad", "aguinaldo"),
            p2p=("cena", "alquiler", "gracias!", "cuenta", "cervezas", "gasolina", "entradas"),
            for_word="para",
        ),
        Vocabulary(
            "vi",
            cover=(
                "học phí",
                "hoc phi",
                "quà",
                "tiền thuốc",
                "đồng phục",
                "tien nha",
                "hỗ trợ",
                "tiền ăn",
                "viện phí",
                "nap the",
                "sinh nhật",
                "chi phí",
            ),
            plain=("chuyen tien", "chuyển khoản", "cảm ơn", "gửi em"),
            family=("gửi mẹ", "gui bo me", "tiền chợ", "phụ giúp gia đình", "tien dien nuoc"),
            allowance=("tiền tiêu vặt", "tien an", "tiền nhà", "tien hoc", "sinh hoat phi"),
            gift=("lì xì", "li xi tet", "quà sinh nhật", "chúc mừng năm mới"),
            p2p=("an toi", "tiền nhà", "cảm ơn!", "chia tien", "bia", "xang xe", "ve xem phim"),
            for_word="cho",
        ),
        Vocabulary(
            "th",
            cover=(
                "kha thoem",
                "khong khwan",
                "kha rak sa",
                "kha chai jai",
                "chut nakrian",
                "kha hong",
                "kha nom",
                "chuay luea",
                "kha rong phayaban",
                "toem ngoen",
                "wan koet",
                "kha khao",
            ),
            plain=("on ngoen", "kha sinkha", "khop khun", "hai"),
            family=("hai mae", "ngoen ban", "kha chai jai ban", "song ngoen ban", "chuay phor mae"),
            allowance=("ngoen duean", "kha khao", "kha hong", "kha rot", "kha chai jai"),
            gift=("khong khwan", "songkran", "suk san wan koet", "sawasdee pee mai"),
            p2p=("kha ahan", "kha hong", "khop khun!", "haan bin", "kha nam man", "tua nang"),
            for_word="hai",
        ),
        Vocabulary(
            "id",
            cover=(
                "uang sekolah",
                "hadiah",
                "biaya rumah sakit",
                "seragam",
                "uang kos",
                "bantuan",
                "pulsa",
                "uang jajan",
                "obat",
                "biaya kuliah",
                "ulang tahun",
                "keperluan",
            ),
            plain=("transfer", "bayar", "terima kasih", "untukmu"),
            family=(
                "kiriman untuk ibu",
                "uang belanja",
                "bantuan keluarga",
                "bayar listrik",
                "untuk bapak",
            ),
            allowance=("uang saku", "uang makan", "uang kos", "ongkos", "biaya hidup"),
            gift=("THR", "hadiah", "selamat ulang tahun", "selamat lebaran"),
            p2p=("makan malam", "bayar kos", "makasih!", "patungan", "bensin", "tiket"),
            for_word="untuk",
        ),
        Vocabulary(
            "de",
            cover=(
                "Schulgeld",
                "Geschenk",
                "Arztkosten",
                "Schuluniform",
                "Unterkunft",
                "Unterstützung",
                "Taschengeld",
                "Studiengebühr",
                "Geburtstag",
                "Guthaben",
                "Auslagen",
                "Krankenhaus",
            ),
            plain=("Überweisung", "Zahlung", "danke", "für dich"),
            family=("Unterstützung Familie", "für Mama", "Haushaltsgeld", "Miete", "Lebensmittel"),
            allowance=("Taschengeld", "Essen", "Miete", "Wohnheim", "Monatsgeld"),
            gift=("Geschenk", "Frohe Weihnachten", "Alles Gute zum Geburtstag"),
            p2p=("Abendessen", "Miete", "danke!", "Rechnung teilen", "Bier", "Tanken", "Tickets"),
            for_word="für",
        ),
        Vocabulary(
            "fr",
            cover=(
                "frais scolaires",
                "cadeau",
                "frais médicaux",
                "uniforme",
                "logement",
                "soutien",
                "argent de poche",
                "frais de scolarité",
                "anniversaire",
                "recharge",
                "dépenses",
                "hôpital",
            ),
            plain=("virement", "paiement", "merci", "pour toi"),
            family=("aide famille", "pour maman", "courses", "loyer", "factures"),
            allowance=("argent de poche", "nourriture", "loyer", "résidence", "mensualité"),
            gift=("cadeau", "Joyeux Noël", "bon anniversaire"),
            p2p=("dîner", "loyer", "merci !", "partage addition", "bières", "essence", "billets"),
            for_word="pour",
        ),
    )
}
LANGUAGES = tuple(VOCABULARIES)


class UnknownLanguageError(ValueError):
    pass


def vocabulary(language: str) -> Vocabulary:
    try:
        return VOCABULARIES[language]
    except KeyError:
        known = ", ".join(LANGUAGES)
        raise UnknownLanguageError(
            f"unknown reference language {language!r}; expected one of: {known}"
        ) from None
