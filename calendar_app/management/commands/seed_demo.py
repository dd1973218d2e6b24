# ruff: noqa: RUF001 -- the German copy uses real typographic dashes, not hyphens.
"""`manage.py seed_demo`: the demo workspace "Nordlicht Kaffee", idempotent.

A second run changes nothing and duplicates nothing (rows are found by their natural keys),
except that the three demo users get their passwords reset: DEMO_PASSWORD if set, else a fresh
random one per run. Passwords are only printed, never stored in clear text.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from calendar_app.models import (
    ApprovalMode,
    ApprovalPolicy,
    Campaign,
    Channel,
    ChannelState,
    Label,
    MediaAsset,
    MediaKind,
    Membership,
    Post,
    PostMedia,
    PostVariant,
    Role,
    Workspace,
)
from calendar_app.platforms import Platform
from calendar_app.services import review
from calendar_app.services import workspaces as workspace_services
from calendar_app.services.content import post_input_from, post_input_problems
from calendar_app.timeutils import local_to_utc

try:  # the media library's upload service validates and thumbnails like a real upload
    from calendar_app.services.media import media_upload
except ImportError:  # pragma: no cover - the media library is built separately
    media_upload = None

DEMO_FONT = Path(__file__).parent / "fonts" / "DejaVuSans-Bold-Latin1.ttf"
WORKSPACE = {"slug": "nordlicht", "name": "Nordlicht Kaffee", "tz": "Europe/Berlin", "lang": "de"}

# username -> (role, first name, last name, staff/superuser)
USERS = {
    "admin": (Role.OWNER, "Greta", "Nordmann", True),
    "manager": (Role.MANAGER, "Jonas", "Becker", False),
    "editor": (Role.EDITOR, "Lea", "Hoffmann", False),
}

# key -> (platform, name, handle)
CHANNELS = {
    "ig": ("instagram", "Instagram", "@nordlicht.kaffee"),
    "li": ("linkedin", "LinkedIn", "Nordlicht Kaffee GmbH"),
    "ma": ("mastodon", "Mastodon", "@nordlicht@mastodon.social"),
    "bs": ("bluesky", "Bluesky", "@nordlicht-kaffee.bsky.social"),
    "x": ("x", "X", "@nordlichtkaffee"),
    "fb": ("facebook", "Facebook", "Nordlicht Kaffee"),
    "wp": ("wordpress", "Blog", "blog.nordlicht-kaffee.de"),
    "xing": ("manual", "Xing", "Nordlicht Kaffee GmbH"),
    # The built-in test network: the one channel that really publishes in the demo (to the
    # workspace's sandbox feed), so a newcomer sees a post go out at its minute.
    "tn": ("testnet", "Testnetz", "@testnetz"),
}

LABELS = {
    "Produkt": "#b5651d",
    "Behind the Scenes": "#6f42c1",
    "Event": "#d63384",
    "Rezept": "#198754",
}

# key -> (name, colour, start offset, end offset) in days from the first of this month
CAMPAIGNS = {
    "ernte": ("Neue Ernte Äthiopien", "#c0392b", 0, 20),
    "workshop": ("Barista-Workshops", "#2980b9", 9, 40),
    "nachhaltig": ("Nachhaltig rösten", "#27ae60", 25, 60),
}

# name -> (background top, background bottom, caption)
IMAGES = {
    "espresso.jpg": ("#3b2418", "#8d5b3c", "Espresso"),
    "roesterei.jpg": ("#1f2d3a", "#4b6a88", "Rösterei"),
    "bohnen.jpg": ("#2e1b0f", "#a0522d", "Bohnen"),
    "latte-art.jpg": ("#6b4a2b", "#e0c9a6", "Latte Art"),
    "aethiopien.jpg": ("#5a2a27", "#d98c4a", "Äthiopien"),
    "workshop.jpg": ("#20343b", "#7fb3b5", "Workshop"),
}

TIMES = [dt.time(8, 30), dt.time(12, 15), dt.time(17, 30), dt.time(10, 0), dt.time(19, 0)]


@dataclass
class Seed:
    title: str
    body: str
    channels: tuple[str, ...]
    labels: tuple[str, ...] = ()
    campaign: str | None = None
    image: str | None = None
    idea: bool = False
    note: str = ""
    # channel key -> field overrides for its variant
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)


IG_COMMENT = "Mehr dazu über den Link in unserer Bio ☕ #nordlichtkaffee #specialtycoffee"

POSTS: list[Seed] = [
    Seed(
        "Die neue Ernte ist da",
        "Frisch aus Yirgacheffe: Unsere neue Äthiopien-Ernte duftet nach Jasmin und Bergamotte. Ab heute im Shop und in der Rösterei. ☕",
        ("ig", "fb", "x"),
        ("Produkt",),
        "ernte",
        "aethiopien.jpg",
        overrides={"ig": {"first_comment": IG_COMMENT}},
    ),
    Seed(
        "Montagsespresso",
        "Guten Start in die Woche! Unser Tipp: ein doppelter Espresso Nordlicht Classic, 18 g rein, 36 g raus, 28 Sekunden.",
        ("ma", "bs", "tn"),
        ("Rezept",),
    ),
    Seed(
        "Ein Blick in die Rösterei",
        "Um 6 Uhr morgens läuft bei uns schon der Trommelröster. Jonas zeigt, wie wir die erste Charge des Tages rösten.",
        ("ig", "li"),
        ("Behind the Scenes",),
        image="roesterei.jpg",
        overrides={
            "li": {
                "body_override": "Qualität beginnt früh: Um 6 Uhr morgens läuft in unserer Hamburger Rösterei der Trommelröster an. Unser Röstmeister Jonas Becker erklärt, warum wir jede Charge von Hand profilieren und welche Rolle Temperaturkurven für den Geschmack spielen.\n\nWir suchen übrigens Verstärkung im Team – Link in den Kommentaren."
            }
        },
    ),
    Seed(
        "Röstprofil erklärt: Hell vs. dunkel",
        "Helle Röstungen betonen Frucht und Säure, dunkle bringen Schokolade und Körper. Welche Röstung trinkt ihr am liebsten?",
        ("ma", "bs", "x"),
        ("Produkt",),
    ),
    Seed(
        "Blog: Unsere Reise nach Yirgacheffe",
        "Im Oktober haben wir unsere Partnerkooperative in Äthiopien besucht. Ein Reisebericht über Kaffeekirschen, Waschstationen und faire Preise.",
        ("wp", "li"),
        ("Behind the Scenes",),
        "ernte",
        "aethiopien.jpg",
    ),
    Seed(
        "Filterkaffee wie ein Profi",
        "Unser V60-Rezept: 15 g Kaffee, 250 g Wasser bei 94 °C, 30 Sekunden Blooming, dann in drei Aufgüssen. Fertig nach 3 Minuten.",
        ("ig", "fb"),
        ("Rezept",),
        image="bohnen.jpg",
        overrides={"ig": {"first_comment": IG_COMMENT}},
    ),
    Seed(
        "Workshop-Termine sind online",
        "Latte Art, Espresso-Basics und Filterkaffee: Die Termine für unsere Barista-Workshops sind online. Maximal 8 Personen pro Kurs.",
        ("fb", "li", "xing"),
        ("Event",),
        "workshop",
        "workshop.jpg",
    ),
    Seed(
        "Latte Art am Freitag",
        "Freitag ist Latte-Art-Tag in unserem Café. Herz, Tulpe oder Rosetta – zeigt uns eure Versuche mit #nordlichtkaffee!",
        ("ig", "bs", "tn"),
        ("Event",),
        "workshop",
        "latte-art.jpg",
    ),
    Seed(
        "Wir sind B2B-Partner für Büros",
        "Guter Kaffee macht gute Meetings: Wir beliefern Büros in Hamburg und Umgebung mit frisch gerösteten Bohnen und Wartung der Maschinen.",
        ("li", "xing"),
        ("Produkt",),
        overrides={
            "xing": {
                "body_override": "Büro-Kaffee aus Hamburg: frisch geröstet, fair gehandelt, inklusive Maschinenservice. Jetzt Probierpaket für Ihr Team anfragen."
            }
        },
    ),
    Seed(
        "Kaffeesatz-Tipp",
        "Wohin mit dem Kaffeesatz? Ab auf den Kompost oder als Dünger für Tomaten und Rosen. Nachhaltig und kostenlos. 🌱",
        ("ma", "bs", "fb"),
        ("Rezept",),
        "nachhaltig",
    ),
    Seed(
        "Sonntags-Cold-Brew",
        "Cold Brew geht auch im Herbst: 100 g grob gemahlenen Kaffee mit 1 Liter kaltem Wasser 16 Stunden ziehen lassen, filtern, genießen.",
        ("ig", "x", "tn"),
        ("Rezept",),
        image="bohnen.jpg",
    ),
    Seed(
        "Team-Vorstellung: Lea",
        "Lea kümmert sich bei uns um Social Media und probiert jede neue Röstung als Erste. Ihr Favorit: Äthiopien Guji als Filter.",
        ("ig", "li"),
        ("Behind the Scenes",),
        image="latte-art.jpg",
    ),
    Seed(
        "Espresso-Basics Workshop",
        "Noch 3 Plätze frei im Espresso-Basics-Workshop am Samstag. Mahlgrad, Dosierung, Extraktion – wir zeigen euch alles.",
        ("fb", "ma", "bs"),
        ("Event",),
        "workshop",
    ),
    Seed(
        "Warum wir direkt handeln",
        "Direkter Handel heißt für uns: Wir kennen die Farmer persönlich und zahlen deutlich über Fairtrade-Mindestpreis.",
        ("li", "wp"),
        ("Behind the Scenes",),
        "nachhaltig",
        "aethiopien.jpg",
    ),
    Seed(
        "Neu im Shop: Nordlicht Decaf",
        "Schlaft gut: Unser neuer Decaf aus Kolumbien wird schonend mit Zuckerrohr entkoffeiniert und schmeckt nach Karamell und Nuss.",
        ("ig", "fb", "x"),
        ("Produkt",),
        image="espresso.jpg",
        overrides={
            "x": {
                "body_override": "Neu im Shop: Nordlicht Decaf aus Kolumbien. Karamell, Nuss, kein Koffein. ☕"
            },
            "ig": {"first_comment": IG_COMMENT},
        },
    ),
    Seed(
        "Frage der Woche",
        "Milch oder schwarz? Verratet uns in den Kommentaren, wie ihr euren Kaffee trinkt.",
        ("ma", "bs", "x"),
    ),
    Seed(
        "Hinter den Kulissen: Verpackung",
        "Unsere Tüten sind jetzt zu 100 % kompostierbar. So sieht das Abfüllen und Verschließen bei uns aus.",
        ("ig",),
        ("Behind the Scenes",),
        "nachhaltig",
        "roesterei.jpg",
    ),
    Seed(
        "Blog: Die perfekte Mahlgradeinstellung",
        "Zu fein, zu grob, genau richtig? In unserem neuen Blogartikel erklären wir, wie ihr den Mahlgrad für jede Zubereitung findet.",
        ("wp", "fb"),
        ("Rezept",),
        image="bohnen.jpg",
    ),
    Seed(
        "Adventsmarkt in der Rösterei",
        "Am ersten Adventswochenende öffnen wir die Rösterei: Glühkaffee, Röstvorführungen und Geschenkboxen. Eintritt frei.",
        ("fb", "ig", "ma"),
        ("Event",),
        image="roesterei.jpg",
    ),
    Seed(
        "Geschenkbox zum Fest",
        "Unsere Geschenkbox: drei Röstungen, eine Tasse, ein Rezeptheft. Ab sofort vorbestellbar – Versand ab Dezember.",
        ("ig", "fb", "x"),
        ("Produkt",),
        image="espresso.jpg",
        overrides={"ig": {"first_comment": IG_COMMENT}},
    ),
    Seed(
        "Stellenanzeige: Barista (m/w/d)",
        "Wir suchen eine Barista (m/w/d) für unser Café in Ottensen, 30 Stunden pro Woche. Leidenschaft für Kaffee zählt mehr als Erfahrung.",
        ("li", "xing"),
        ("Behind the Scenes",),
    ),
    Seed(
        "Äthiopien Guji: Tasting Notes",
        "Pfirsich, schwarzer Tee und eine Spur Honig: So schmeckt unser Guji-Filterkaffee aus der neuen Ernte.",
        ("ma", "bs", "tn"),
        ("Produkt",),
        "ernte",
    ),
    Seed(
        "Wasser macht den Kaffee",
        "98 % eures Kaffees sind Wasser. Weiches, gefiltertes Wasser bringt die Aromen besser zur Geltung als hartes Leitungswasser.",
        ("fb", "x", "ma"),
        ("Rezept",),
    ),
    Seed(
        "Danke für 10.000 Follower",
        "Wow, 10.000 von euch folgen uns inzwischen! Danke – als Dankeschön gibt es diese Woche 10 % auf alle Röstungen.",
        ("ig", "fb"),
        image="latte-art.jpg",
        overrides={"ig": {"first_comment": "Code: NORDLICHT10 ☕"}},
    ),
    Seed(
        "Workshop-Rückblick",
        "Was für ein Abend! 8 Teilnehmende, 40 Milchkännchen und die ersten Latte-Art-Herzen. Danke an alle, die dabei waren.",
        ("ig", "li"),
        ("Event",),
        "workshop",
        "workshop.jpg",
    ),
    Seed(
        "Kaffee und Klima",
        "Kaffeeanbau wird durch den Klimawandel schwieriger. Wie wir mit unseren Partnerfarmen an Schattenanbau arbeiten, lest ihr im Blog.",
        ("wp", "li", "ma"),
        ("Behind the Scenes",),
        "nachhaltig",
        "aethiopien.jpg",
        overrides={
            "ma": {
                "body_override": "Klimawandel und Kaffee: Warum wir mit Partnerfarmen auf Schattenanbau setzen. Neuer Blogartikel ist online. #kaffee #klima"
            }
        },
    ),
    Seed(
        "French Press richtig gemacht",
        "French Press: 30 g grob gemahlen, 500 ml Wasser, 4 Minuten ziehen lassen, Kruste abschöpfen, langsam drücken.",
        ("ig", "bs", "tn"),
        ("Rezept",),
        image="bohnen.jpg",
    ),
    Seed(
        "Öffnungszeiten am Feiertag",
        "Am Feiertag hat unser Café von 10 bis 16 Uhr geöffnet. Der Onlineshop ist natürlich wie immer rund um die Uhr für euch da.",
        ("fb", "ma", "tn"),
    ),
    Seed(
        "Espresso-Blend Nordlicht Classic",
        "Unser Klassiker: Brasilien und Guatemala, mittlere Röstung, Noten von Haselnuss und Zartbitterschokolade. Perfekt für Milchgetränke.",
        ("ig", "x", "fb"),
        ("Produkt",),
        image="espresso.jpg",
    ),
    Seed(
        "Partnerschaft mit dem Bio-Bäcker",
        "Ab sofort gibt es in unserem Café Franzbrötchen von der Backstube Elbkorn. Hamburger Klassiker zum Hamburger Kaffee.",
        ("li", "fb", "xing"),
        ("Behind the Scenes",),
    ),
    Seed(
        "Tasse der Woche",
        "Handgedreht von einer Töpferin aus Lüneburg: Unsere Tasse der Woche gibt es nur in limitierter Auflage.",
        ("ig",),
        ("Produkt",),
        image="latte-art.jpg",
    ),
    Seed(
        "Umfrage: Neue Röstung",
        "Wir planen eine neue Single-Origin-Röstung. Kenia, Ruanda oder Peru – was sollen wir als Nächstes rösten?",
        ("ma", "bs", "x"),
        ("Produkt",),
    ),
    Seed(
        "Blog: 5 Fehler beim Espresso",
        "Zu alte Bohnen, falscher Mahlgrad, kalter Siebträger: Die fünf häufigsten Fehler beim Espresso – und wie ihr sie vermeidet.",
        ("wp", "fb", "li"),
        ("Rezept",),
        image="espresso.jpg",
    ),
    Seed(
        "Nachhaltigkeitsbericht 2026",
        "Unser erster Nachhaltigkeitsbericht ist da: CO₂-Bilanz, Lieferkette und unsere Ziele bis 2030, transparent und nachprüfbar.",
        ("li", "xing", "ma"),
        ("Behind the Scenes",),
        "nachhaltig",
    ),
    Seed(
        "Winterröstung ist zurück",
        "Zimt, Orange und dunkle Schokolade: Unsere Winterröstung ist zurück – nur solange der Vorrat reicht.",
        ("ig", "fb", "bs"),
        ("Produkt",),
        image="bohnen.jpg",
        overrides={"ig": {"first_comment": IG_COMMENT}},
    ),
    Seed(
        "Workshop: Filterkaffee",
        "Neuer Termin: Filterkaffee-Workshop mit V60, Chemex und AeroPress. Jetzt anmelden, die Plätze sind begrenzt.",
        ("fb", "li"),
        ("Event",),
        "workshop",
        "workshop.jpg",
    ),
    Seed(
        "Röstmeister-Tipp",
        "Bohnen nach dem Rösten 5 bis 7 Tage ruhen lassen: So entweicht CO₂ und die Aromen entfalten sich voll.",
        ("ma", "bs", "x"),
        ("Rezept",),
    ),
    Seed(
        "Café-Abend mit Live-Musik",
        "Freitagabend wird es gemütlich: Akustik-Live-Musik, Kaffee-Cocktails und Kuchen im Café Ottensen. Ab 19 Uhr.",
        ("ig", "fb"),
        ("Event",),
        image="latte-art.jpg",
    ),
    Seed(
        "Jahresrückblick der Rösterei",
        "Zwölf Monate, 38 Tonnen Rohkaffee, 14 Röstungen und unzählige Tassen: Unser Jahresrückblick.",
        ("li", "wp"),
        ("Behind the Scenes",),
        image="roesterei.jpg",
    ),
    Seed(
        "Frohe Feiertage",
        "Wir wünschen euch entspannte Feiertage mit viel gutem Kaffee. Danke, dass ihr 2026 mit uns getrunken habt!",
        ("ig", "fb", "ma"),
        image="espresso.jpg",
    ),
    # ideas: no time yet, some without channels
    Seed(
        "Idee: Kaffee-Quiz",
        "Ein wöchentliches Quiz in den Stories: Woher kommt diese Bohne?",
        ("ig",),
        idea=True,
        note="Braucht noch Bilder.",
    ),
    Seed(
        "Idee: Podcast-Gast",
        "Gespräch mit einer Farmerin aus Kolumbien über Fermentation.",
        ("li",),
        idea=True,
        note="Termin mit Jonas abstimmen.",
    ),
    Seed(
        "Idee: Rezeptserie Weihnachten",
        "Kaffee-Lebkuchen, Espresso-Tiramisu, Glühkaffee.",
        ("wp",),
        ("Rezept",),
        idea=True,
    ),
    Seed(
        "Idee: Kundenstimmen",
        "Kurze Videos von Stammgästen: Was ist euer Lieblingskaffee?",
        ("ig", "fb"),
        idea=True,
    ),
    Seed(
        "Idee: Abo-Kampagne",
        "Kaffee-Abo mit jeder Lieferung eine neue Röstung. Launch im Frühjahr?",
        ("li",),
        ("Produkt",),
        "nachhaltig",
        idea=True,
    ),
]


def make_jpeg(top: str, bottom: str, caption: str, size: tuple[int, int] = (1080, 1080)) -> bytes:
    """A simple branded demo picture: a vertical gradient, a cup, and the caption."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    c1 = tuple(int(top[i : i + 2], 16) for i in (1, 3, 5))
    c2 = tuple(int(bottom[i : i + 2], 16) for i in (1, 3, 5))
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(c1, c2, strict=True)),
        )
    cx, cy = width // 2, height // 2
    draw.ellipse([cx - 220, cy - 60, cx + 220, cy + 40], fill="#f5ede3")  # saucer
    draw.rounded_rectangle([cx - 140, cy - 230, cx + 140, cy], radius=60, fill="#fffaf3")  # cup
    draw.ellipse([cx - 125, cy - 250, cx + 125, cy - 200], fill="#4a2c1a")  # coffee
    draw.arc([cx + 110, cy - 180, cx + 200, cy - 80], start=-90, end=90, fill="#fffaf3", width=22)
    try:
        # Pillow's own default font has no umlauts ("R☒sterei"): DejaVu Sans Bold, cut down
        # to Latin-1 and typographic quotes (fonts/, with its licence).
        font = ImageFont.truetype(str(DEMO_FONT), 84)
        small = ImageFont.truetype(str(DEMO_FONT), 40)
    except OSError:  # Pillow without FreeType: the bitmap font has one size
        font = small = ImageFont.load_default()
    draw.text((cx, cy + 170), caption, font=font, fill="#fffaf3", anchor="mm")
    draw.text((cx, height - 80), "Nordlicht Kaffee", font=small, fill="#fffaf3", anchor="mm")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo workspace “Nordlicht Kaffee” with users, channels and posts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=None,
            help="Base URL printed with the logins (default: http://127.0.0.1:$PORT/).",
        )

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD") or None
        with transaction.atomic():
            workspace = self._workspace()
            memberships, passwords = self._users(workspace, password)
            base = options["url"] or f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"
            channels = self._channels(workspace, base)
            labels = self._labels(workspace)
            campaigns = self._campaigns(workspace)
            images = self._images(workspace, memberships["admin"])
            created = self._posts(workspace, memberships, channels, labels, campaigns, images)
            self._approvals(workspace, memberships)
        self._print_summary(workspace, created, passwords, base)

    # --- rows ---------------------------------------------------------------------------------

    def _workspace(self) -> Workspace:
        workspace, _ = Workspace.objects.get_or_create(
            slug=WORKSPACE["slug"],
            defaults={
                "name": WORKSPACE["name"],
                "timezone": WORKSPACE["tz"],
                "language": WORKSPACE["lang"],
            },
        )
        return workspace

    def _users(self, workspace: Workspace, password: str | None):
        User = get_user_model()
        memberships: dict[str, Membership] = {}
        passwords: dict[str, str] = {}
        for username, (role, first, last, superuser) in USERS.items():
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@nordlicht-kaffee.example",
                    "language": "de",
                    "is_staff": superuser,
                    "is_superuser": superuser,
                },
            )
            passwords[username] = password or secrets.token_urlsafe(9)
            user.set_password(passwords[username])
            user.save(update_fields=["password"])
            memberships[username], _ = Membership.objects.get_or_create(
                workspace=workspace, user=user, defaults={"role": role}
            )
        return memberships, passwords

    def _channels(self, workspace: Workspace, base: str) -> dict[str, Channel]:
        channels = {
            # No real account is connected in the demo: the manual channel and the test
            # network are ready, the others wait for "Connect account" (publishing holds
            # their posts meanwhile, and says so).
            key: Channel.objects.get_or_create(
                workspace=workspace,
                platform=platform,
                name=name,
                defaults={
                    "handle": handle,
                    "state": ChannelState.CONNECTED
                    if platform in (Platform.MANUAL, Platform.TESTNET)
                    else ChannelState.NEEDS_RECONNECT,
                    # Said plainly wherever the channel's state shows (channel_health).
                    "config": {}
                    if platform in (Platform.MANUAL, Platform.TESTNET)
                    else {"example": True},
                },
            )[0]
            for key, (platform, name, handle) in CHANNELS.items()
        }
        test = channels["tn"]
        if not test.account_id:  # the test network needs no sign-in and no stored secret
            test.account_id = f"tn-demo-{workspace.slug}"
            test.config = {
                "test_network": True,
                "feed_url": f"{base.rstrip('/')}/w/{workspace.slug}/sandbox/",
            }
            test.save(update_fields=["account_id", "config"])
        return channels

    def _labels(self, workspace: Workspace) -> dict[str, Label]:
        return {
            name: Label.objects.get_or_create(
                workspace=workspace, name=name, defaults={"color": color}
            )[0]
            for name, color in LABELS.items()
        }

    def _campaigns(self, workspace: Workspace) -> dict[str, Campaign]:
        first = timezone.localdate(timezone=workspace.tz).replace(day=1)
        return {
            key: Campaign.objects.get_or_create(
                workspace=workspace,
                name=name,
                defaults={
                    "color": color,
                    "starts_on": first + dt.timedelta(days=start),
                    "ends_on": first + dt.timedelta(days=end),
                },
            )[0]
            for key, (name, color, start, end) in CAMPAIGNS.items()
        }

    def _images(self, workspace: Workspace, owner: Membership) -> dict[str, MediaAsset]:
        assets: dict[str, MediaAsset] = {}
        for name, (top, bottom, caption) in IMAGES.items():
            asset = MediaAsset.objects.filter(workspace=workspace, original_name=name).first()
            if asset is None:
                data = make_jpeg(top, bottom, caption)
                alt = f"Illustration: eine Tasse Kaffee, Schriftzug „{caption}“"
                if media_upload is not None:
                    upload = SimpleUploadedFile(name, data, content_type="image/jpeg")
                    asset = media_upload(membership=owner, uploaded_file=upload, alt_text=alt)
                else:
                    asset = MediaAsset(
                        workspace=workspace,
                        kind=MediaKind.IMAGE,
                        mime_type="image/jpeg",
                        size_bytes=len(data),
                        width=1080,
                        height=1080,
                        original_name=name,
                        alt_text=alt,
                        uploaded_by=owner.user,
                    )
                    asset.file.save(name, ContentFile(data), save=False)
                    asset.save()
            assets[name] = asset
        return assets

    def _posts(self, workspace, memberships, channels, labels, campaigns, images) -> int:
        tz = workspace.tz
        today = timezone.localdate(timezone=tz)
        first = today.replace(day=1)
        next_month = (first + dt.timedelta(days=32)).replace(day=1)
        days = [first + dt.timedelta(days=n) for n in range((next_month - first).days + 5)]
        scheduled = [seed for seed in POSTS if not seed.idea]
        authors = [memberships["editor"], memberships["manager"], memberships["editor"]]
        now = timezone.now()
        created = 0
        for index, seed in enumerate(POSTS):
            if Post.objects.filter(workspace=workspace, title=seed.title).exists():
                continue
            scheduled_at = None
            if not seed.idea:
                position = scheduled.index(seed)
                day = days[position * len(days) // len(scheduled)]
                scheduled_at = local_to_utc(day, TIMES[position % len(TIMES)], tz)
            post = Post.objects.create(
                workspace=workspace,
                title=seed.title,
                body=seed.body,
                note=seed.note,
                scheduled_at=scheduled_at,
                author=authors[index % len(authors)].user,
                campaign=campaigns[seed.campaign] if seed.campaign else None,
            )
            post.labels.set([labels[name] for name in seed.labels])
            if seed.image:
                PostMedia.objects.create(post=post, media=images[seed.image], position=0)
            for key in seed.channels:
                PostVariant.objects.create(
                    post=post, channel=channels[key], **seed.overrides.get(key, {})
                )
            if scheduled_at is not None and scheduled_at > now:
                problems = post_input_problems(post_input_from(post))
                if problems:
                    raise CommandError(
                        f"Demo post “{seed.title}” would not be publishable: {problems}"
                    )
            created += 1
        return created

    def _approvals(self, workspace: Workspace, memberships: dict[str, Membership]) -> None:
        """Approval required with one step "Team lead" (managers); some posts in review or
        approved. Only posts without a revision (new in this run) are touched: idempotent."""
        if not ApprovalPolicy.objects.filter(workspace=workspace).exists():
            workspace_services.policy_update(
                membership=memberships["admin"],
                mode=ApprovalMode.REQUIRED,
                allow_self_approval=False,
                time_moves_need_review=False,
                reminder_hours=24,
                skip_roles=[Role.OWNER.value],
                steps=[
                    workspace_services.StepInput(
                        name="Team lead", roles=[Role.MANAGER.value], members=[]
                    )
                ],
            )
        by_user = {m.user_id: m for m in memberships.values()}
        now = timezone.now()
        new_posts = (
            Post.objects.filter(workspace=workspace, revisions__isnull=True)
            .select_related("author")
            .order_by("scheduled_at", "id")
        )
        future_by_editor = 0
        for post in new_posts:
            review.revision_record(post=post, author=post.author)
            author = by_user.get(post.author_id)
            if post.scheduled_at is None or post.scheduled_at <= now or author is None:
                continue
            if author.role == Role.EDITOR:
                future_by_editor += 1
                if future_by_editor % 3 == 1:
                    review.post_submit_for_review(membership=author, post_id=post.pk)
                elif future_by_editor % 3 == 2:
                    review.post_submit_for_review(membership=author, post_id=post.pk)
                    review.post_approve(membership=memberships["manager"], post_id=post.pk)

    def _print_summary(self, workspace, created: int, passwords: dict[str, str], base: str) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"Demo workspace “{workspace.name}”: {workspace.posts.count()} posts "
                f"({created} new), {workspace.channels.count()} channels."
            )
        )
        out.write(f"Open {base}w/{workspace.slug}/ and log in as:")
        out.write(f"  {'user':<10}{'role':<10}password")
        for username, (role, *_rest) in USERS.items():
            out.write(f"  {username:<10}{role.value:<10}{passwords[username]}")
        if not os.environ.get("DEMO_PASSWORD"):
            out.write("  (new passwords at every run; set DEMO_PASSWORD to keep one)")
