"""How each platform counts a text against its limit, to the character: X's twitter-text v3
(weights, its link finder with the TLD lists and label rules), Mastodon's StatusLengthValidator
(graphemes, links as 23, @user@domain as @user), graphemes (Bluesky), emoji as UTF-8 bytes
(Threads). calendar_app.platforms says which counting each platform uses; the editor's live
counter shows the server's count of the same text (the JS estimate is only a first guess).
Each rule names its source beside it; tests/test_platform_counting_conformance.py checks X's
counting against twitter-text's own conformance suite."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import regex
from django.db import models


class Counting(models.TextChoices):
    CHARACTERS = "characters"  # Unicode code points
    X_WEIGHTED = "x_weighted"  # twitter-text v3: links 23, CJK and emoji 2 (parse_x_text)
    # Grapheme clusters, links with a scheme 23, @user@domain as @user (count_mastodon)
    URL_23 = "url_23"
    GRAPHEMES = "graphemes"  # user-perceived characters (Bluesky)
    EMOJI_BYTES = "emoji_bytes"  # code points, emoji counted as their UTF-8 bytes (Threads)


# --- counting ------------------------------------------------------------------------------

# A loose link finder (any http(s):// or www. run up to white space). It decides no length:
# the Threads adapter uses it to count a post's links against Threads' five-link cap.
URL_RE = regex.compile(r"(?:https?://|www\.)[^\s<>\"']+", regex.IGNORECASE)
GRAPHEME_RE = regex.compile(r"\X")

# One emoji as a reader sees it, built from the Unicode emoji properties (UTS #51): a keycap
# (1️⃣, with or without U+FE0F), a flag (two regional indicators), or a chain of elements
# joined by ZWJ. An element is a character with a skin tone, a character asking for emoji
# style (U+FE0F), a character shown as emoji by default, or a text-style emoji character not
# asking for text style (U+FE0E), optionally ended by a tag sequence (🏴 + tags, a
# subdivision flag). Digits, # and * are emoji only as keycaps, and ©, ® and ™ only with
# U+FE0F, as in Twitter's own emoji parser (twitter/twemoji-parser), so "© 2026" stays text.
_EMOJI_ELEMENT = (
    r"(?:\p{Emoji_Modifier_Base}\p{Emoji_Modifier}"
    r"|(?![#*0-9])\p{Emoji}\uFE0F"
    r"|\p{Emoji_Presentation}"
    r"|(?![#*0-9\u00A9\u00AE\u2122])\p{Emoji}(?!\uFE0E))"
    r"(?:[\U000E0020-\U000E007E]+\U000E007F)?"
)
EMOJI_RE = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3"
    r"|\p{Regional_Indicator}{2}"
    rf"|{_EMOJI_ELEMENT}(?:\u200D{_EMOJI_ELEMENT})*"
)


# --- links as twitter-text finds them --------------------------------------------------------
# X counts every link as 23 and Mastodon does the same, both finding links with twitter-text's
# expressions (twitter/twitter-text js/src/regexp/*.js; Mastodon's config/initializers/
# twitter_regex.rb widens the path and the schemes). A link needs a known top-level domain.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The top-level domains of twitter-text 3.1 (js/src/regexp/validGTLD.js, validCCTLD.js).
GENERIC_TLDS = _words(
    """
    aaa aarp abarth abb abbott abbvie abc able abogado abudhabi academy accenture accountant
    accountants aco active actor adac ads adult aeg aero aetna afamilycompany afl africa agakhan
    agency aig aigo airbus airforce airtel akdn alfaromeo alibaba alipay allfinanz allstate ally
    alsace alstom americanexpress americanfamily amex amfam amica amsterdam analytics android
    anquan anz aol apartments app apple aquarelle arab aramco archi army arpa art arte asda asia
    associates athleta attorney auction audi audible audio auspost author auto autos avianca aws
    axa azure baby baidu banamex bananarepublic band bank bar barcelona barclaycard barclays
    barefoot bargains baseball basketball bauhaus bayern bbc bbt bbva bcg bcn beats beauty beer
    bentley berlin best bestbuy bet bharti bible bid bike bing bingo bio biz black blackfriday
    blanco blockbuster blog bloomberg blue bms bmw bnl bnpparibas boats boehringer bofa bom bond
    boo book booking boots bosch bostik boston bot boutique box bradesco bridgestone broadway
    broker brother brussels budapest bugatti build builders business buy buzz bzh cab cafe cal
    call calvinklein cam camera camp cancerresearch canon capetown capital capitalone car
    caravan cards care career careers cars cartier casa case caseih cash casino cat catering
    catholic cba cbn cbre cbs ceb center ceo cern cfa cfd chanel channel charity chase chat
    cheap chintai chloe christmas chrome chrysler church cipriani circle cisco citadel citi
    citic city cityeats claims cleaning click clinic clinique clothing cloud club clubmed coach
    codes coffee college cologne com comcast commbank community company compare computer comsec
    condos construction consulting contact contractors cooking cookingchannel cool coop corsica
    country coupon coupons courses cpa credit creditcard creditunion cricket crown crs cruise
    cruises csc cuisinella cymru cyou dabur dad dance data date dating datsun day dclk dds deal
    dealer deals degree delivery dell deloitte delta democrat dental dentist desi design dev dhl
    diamonds diet digital direct directory discount discover dish diy dnp docs doctor dodge dog
    doha domains doosan dot download drive dtv dubai duck dunlop duns dupont durban dvag dvr
    earth eat eco edeka edu education email emerck energy engineer engineering enterprises epost
    epson equipment ericsson erni esq estate esurance etisalat eurovision eus events everbank
    exchange expert exposed express extraspace fage fail fairwinds faith family fan fans farm
    farmers fashion fast fedex feedback ferrari ferrero fiat fidelity fido film final finance
    financial fire firestone firmdale fish fishing fit fitness flickr flights flir florist
    flowers flsmidth fly foo food foodnetwork football ford forex forsale forum foundation fox
    free fresenius frl frogans frontdoor frontier ftr fujitsu fujixerox fun fund furniture
    futbol fyi gal gallery gallo gallup game games gap garden gay gbiz gdn gea gent genting
    george ggee gift gifts gives giving glade glass gle global globo gmail gmbh gmo gmx godaddy
    gold goldpoint golf goo goodhands goodyear goog google gop got gov grainger graphics gratis
    green gripe grocery group guardian gucci guge guide guitars guru hair hamburg hangout haus
    hbo hdfc hdfcbank health healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi
    hiv hkt hockey holdings holiday homedepot homegoods homes homesense honda honeywell horse
    hospital host hosting hot hoteles hotels hotmail house how hsbc htc hughes hyatt hyundai ibm
    icbc ice icu ieee ifm iinet ikano imamat imdb immo immobilien inc industries infiniti info
    ing ink institute insurance insure int intel international intuit investments ipiranga irish
    iselect ismaili ist istanbul itau itv iveco iwc jaguar java jcb jcp jeep jetzt jewelry jio
    jlc jll jmp jnj jobs joburg jot joy jpmorgan jprs juegos juniper kaufen kddi kerryhotels
    kerrylogistics kerryproperties kfh kia kim kinder kindle kitchen kiwi koeln komatsu kosher
    kpmg kpn krd kred kuokgroup kyoto lacaixa ladbrokes lamborghini lamer lancaster lancia
    lancome land landrover lanxess lasalle lat latino latrobe law lawyer lds lease leclerc
    lefrak legal lego lexus lgbt liaison lidl life lifeinsurance lifestyle lighting like lilly
    limited limo lincoln linde link lipsy live living lixil llc llp loan loans locker locus loft
    lol london lotte lotto love lpl lplfinancial ltd ltda lundbeck lupin luxe luxury macys
    madrid maif maison makeup man management mango map market marketing markets marriott
    marshalls maserati mattel mba mcd mcdonalds mckinsey med media meet melbourne meme memorial
    men menu meo merckmsd metlife miami microsoft mil mini mint mit mitsubishi mlb mls mma mobi
    mobile mobily moda moe moi mom monash money monster montblanc mopar mormon mortgage moscow
    moto motorcycles mov movie movistar msd mtn mtpc mtr museum mutual mutuelle nab nadex nagoya
    name nationwide natura navy nba nec net netbank netflix network neustar new newholland news
    next nextdirect nexus nfl ngo nhk nico nike nikon ninja nissan nissay nokia
    northwesternmutual norton now nowruz nowtv nra nrw ntt nyc obi observer off office okinawa
    olayan olayangroup oldnavy ollo omega one ong onion onl online onyourside ooo open oracle
    orange org organic orientexpress origins osaka otsuka ott ovh page pamperedchef panasonic
    panerai paris pars partners parts party passagens pay pccw pet pfizer pharmacy phd philips
    phone photo photography photos physio piaget pics pictet pictures pid pin ping pink pioneer
    pizza place play playstation plumbing plus pnc pohl poker politie porn post pramerica praxi
    press prime pro prod productions prof progressive promo properties property protection pru
    prudential pub pwc qpon quebec quest qvc racing radio raid read realestate realtor realty
    recipes red redstone redumbrella rehab reise reisen reit reliance ren rent rentals repair
    report republican rest restaurant review reviews rexroth rich richardli ricoh rightathome
    ril rio rip rmit rocher rocks rodeo rogers room rsvp rugby ruhr run rwe ryukyu saarland safe
    safety sakura sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sapo sarl sas
    save saxo sbi sbs sca scb schaeffler schmidt scholarships school schule schwarz science
    scjohnson scor scot search seat secure security seek select sener services ses seven sew sex
    sexy sfr shangrila sharp shaw shell shia shiksha shoes shop shopping shouji show showtime
    shriram silk sina singles site ski skin sky skype sling smart smile sncf soccer social
    softbank software sohu solar solutions song sony soy space spiegel sport spot spreadbetting
    srl srt stada staples star starhub statebank statefarm statoil stc stcgroup stockholm
    storage store stream studio study style sucks supplies supply support surf surgery suzuki
    swatch swiftcover swiss sydney symantec systems tab taipei talk taobao target tatamotors
    tatar tattoo tax taxi tci tdk team tech technology tel telecity telefonica temasek tennis
    teva thd theater theatre tiaa tickets tienda tiffany tips tires tirol tjmaxx tjx tkmaxx
    tmall today tokyo tools top toray toshiba total tours town toyota toys trade trading
    training travel travelchannel travelers travelersinsurance trust trv tube tui tunes tushu
    tvs ubank ubs uconnect unicom university uno uol ups vacations vana vanguard vegas ventures
    verisign versicherung vet viajes video vig viking villas vin vip virgin visa vision vista
    vistaprint viva vivo vlaanderen vodka volkswagen volvo vote voting voto voyage vuelos wales
    walmart walter wang wanggou warman watch watches weather weatherchannel webcam weber website
    wed wedding weibo weir whoswho wien wiki williamhill win windows wine winners wme
    wolterskluwer woodside work works world wow wtc wtf xbox xerox xfinity xihuan xin xperia xxx
    xyz yachts yahoo yamaxun yandex yodobashi yoga yokohama you youtube yun zappos zara zero zip
    zippo zone zuerich
    vermögensberater vermögensberatung дети католик ком москва онлайн орг рус сайт
    קום ابوظبي اتصالات ارامكو العليان بازار بيتك شبكة عرب كاثوليك كوم موبايلي موقع
    همراه कॉम नेट संगठन คอม みんな クラウド グーグル コム ストア セール ファッション ポイント 世界 中信 中文网 企业 佛山 信息
    健康 八卦 公司 公益 商城 商店 商标 嘉里 嘉里大酒店 在线 大众汽车 大拿 天主教 娱乐 家電 工行 广东 微博 慈善 我爱你 手机 手表 招聘 政务
    政府 新闻 时尚 書籍 机构 淡马锡 游戏 点看 珠宝 移动 组织机构 网址 网店 网站 网络 联通 诺基亚 谷歌 购物 通販 集团 電訊盈科 飞利浦 食品
    餐厅 香格里拉 닷넷 닷컴 삼성
    """  # noqa: RUF001 (Cyrillic names are meant)
)
COUNTRY_TLDS = _words(
    """
    ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo
    bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm
    do dz ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs
    gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp
    kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms
    mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps
    pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz
    tc td tf tg th tj tk tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu
    wf ws ye yt za zm zw
    ελ ευ бг бел ею мкд мон рф срб укр қаз հայ الاردن البحرين الجزائر السعودية
    المغرب امارات ایران بارت بھارت تونس سودان سورية عراق عمان فلسطين قطر مصر مليسيا
    موريتانيا پاکستان ڀارت भारत भारतम् भारोत বাংলা ভারত ভাৰত ਭਾਰਤ ભારત ଭାରତ இந்தியா
    இலங்கை சிங்கப்பூர் భారత్ ಭಾರತ ഭാരതം ලංකා ไทย ລາວ გე 中国 中國 台湾 台灣 新加坡 澳門 香港 한국
    """  # noqa: RUF001 (Cyrillic names are meant)
)

_DIRECTIONAL_MARKS = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
_INVALID_CHARS = "\ufffe\ufeff\uffff"  # X refuses a post that holds one of these
_SPACES = "\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_LATIN_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b"
    "\u0263\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = "\u0400-\u04ff"
# twitter-text's punctuation has neither " nor `; Ruby's (which Mastodon uses) has both, and
# the control characters.
_PUNCTUATION_JS = "!'#%&()*+,\\-./:;<=>?@[]^_{|}~$"
_PUNCTUATION_RUBY = "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~\x7f" + "".join(map(chr, range(32)))
_PRECEDING = rf"(?:[^A-Za-z0-9@\uff20$#\uff03{_INVALID_CHARS}]|[{_DIRECTIONAL_MARKS}]|^)"
_MAX_LABEL = 63  # a DNS label, counted in its punycode form


def _escaped(chars: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in chars)


def _trie(words: frozenset[str]) -> str:
    """An expression matching any of `words` (lower case), as a trie so that it costs a few
    steps rather than one try per word; a longer word is tried before its prefix."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [regex.escape(c) + pattern(sub) for c, sub in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(root)


_TLD_END = r"(?=[^0-9a-zA-Z@+\-]|$)"
_COUNTRY_TLD = rf"(?:{_trie(COUNTRY_TLDS)}){_TLD_END}"
_TLD = rf"(?:(?:{_trie(GENERIC_TLDS)}){_TLD_END}|{_COUNTRY_TLD}|xn--[\-0-9a-z]+)"
_TLD_RE = regex.compile(_TLD, regex.IGNORECASE)


@dataclass(frozen=True)
class _LinkSyntax:
    """twitter-text's link expression with one flavour of its character sets, and what is
    needed to try it only where a domain can begin (see _domain_starts)."""

    url_re: regex.Pattern
    scheme_re: regex.Pattern
    segment_re: regex.Pattern  # a run of label characters, _ and -

    @classmethod
    def build(
        cls,
        *,
        scheme: str,
        punctuation: str,
        path_char: str,
        path_end: str,
        path_at: str,
        query: str,
        query_end: str,
    ) -> _LinkSyntax:
        # A label character is no punctuation, space, invalid or directional character;
        # subdomains may hold _ and -, the domain name only -, and neither starts or ends so.
        excluded = f"{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL_MARKS}"
        char = f"[^{_escaped(punctuation)}{excluded}]"
        subdomain = rf"(?:(?:{char}(?:[_\-]|{char})*)?{char}\.)"
        name = rf"(?:(?:{char}(?:\-|{char})*)?{char}\.)"
        # Up to two levels of balanced parentheses (Wikipedia's /Film_(1999)); a path ends on
        # an ending character, so the full stop of "see example.com/a." is left out.
        parens = rf"\((?:{path_char}+|(?:{path_char}*\({path_char}+\){path_char}*))\)"
        path = (
            rf"(?:(?:{path_char}*(?:{parens}{path_char}*)*(?:{path_end}|{parens}))|(?:{path_at}))"
        )
        label_chars = _escaped(punctuation.replace("_", "").replace("-", ""))
        return cls(
            url_re=regex.compile(
                rf"(?P<before>{_PRECEDING})"
                rf"(?P<url>(?P<scheme>{scheme})?(?P<domain>{subdomain}*{name}{_TLD})"
                rf"(?::[0-9]+)?(?P<path>/{path}*)?(?:\?{query}*{query_end})?)",
                regex.IGNORECASE,
            ),
            scheme_re=regex.compile(scheme, regex.IGNORECASE),
            segment_re=regex.compile(f"[^{label_chars}{excluded}]+"),
        )

    def finditer(self, text: str):
        """url_re.finditer(text), the same matches, without trying the expression where no
        domain can begin: a long run of dotted words would otherwise cost seconds."""
        starts = _domain_starts(text, self.segment_re, edges_checked=True)
        for scheme in self.scheme_re.finditer(text):
            if starts[scheme.end()]:
                starts[scheme.start()] = 1
        position = 0
        # The expression consumes one character before the link, or none at the very start.
        candidates = ([0] if starts[0] else []) + [i - 1 for i in range(1, len(text)) if starts[i]]
        for start in candidates:
            if start >= position and (match := self.url_re.match(text, start)):
                yield match
                position = max(match.end(), start + 1)


def _domain_starts(text: str, segment_re: regex.Pattern, *, edges_checked: bool) -> bytearray:
    """Positions where a chain of labels followed by a known top-level domain begins, found
    walking the text's labels from its end (each label once). With `edges_checked`, a label
    neither starts nor ends with _ or -, and the last before the top-level domain holds no _."""
    starts = bytearray(len(text) + 2)
    for segment in reversed(list(segment_re.finditer(text))):
        begin, end = segment.span()
        if text[end : end + 1] != "." or (edges_checked and text[end - 1] in "_-"):
            continue
        onward = starts[end + 1]  # a longer chain goes on from the next label
        top_level = _TLD_RE.match(text, end + 1) is not None
        if not (onward or top_level):
            continue
        last_underscore = text.rfind("_", begin, end) if edges_checked else -1
        for index in range(begin, end):
            if edges_checked and text[index] in "_-":
                continue
            if onward or index > last_underscore:
                starts[index] = 1
    return starts


_X_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_X_LINKS = _LinkSyntax.build(
    scheme=r"https?://",
    punctuation=_PUNCTUATION_JS,
    path_char=_X_PATH_CHAR,
    path_end=rf"[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]",
    path_at=rf"@{_X_PATH_CHAR}+/",
    query=r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]",
    query_end=r"[a-z0-9\-_&=#/]",
)
# Without a scheme only an ASCII domain is a link (the ASCII part of "日本example.com").
_ASCII_LABEL = rf"[\-a-z0-9{_LATIN_ACCENTS}]"
_ASCII_DOMAIN_RE = regex.compile(rf"(?:{_ASCII_LABEL}+\.)+{_TLD}", regex.IGNORECASE)
_ASCII_SEGMENT_RE = regex.compile(f"{_ASCII_LABEL}+", regex.IGNORECASE)
# ...and one label with a country code ("example.de") is none, unless it has a path or the
# code is .co or .tv.
_X_LABEL_CHAR = f"[^{_escaped(_PUNCTUATION_JS)}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL_MARKS}]"
_X_NAME = rf"(?:(?:{_X_LABEL_CHAR}(?:\-|{_X_LABEL_CHAR})*)?{_X_LABEL_CHAR}\.)"
_SHORT_DOMAIN_RE = regex.compile(rf"^{_X_NAME}{_COUNTRY_TLD}$", regex.IGNORECASE)
_SPECIAL_SHORT_DOMAIN_RE = regex.compile(
    rf"^{_X_NAME}(?:co|tv)(?=[^0-9a-zA-Z@]|$)$", regex.IGNORECASE
)
_TCO_RE = regex.compile(r"^https?://t\.co/([a-z0-9]+)", regex.IGNORECASE)
_IDNA_DOTS_RE = regex.compile("[\u3002\uff0e\uff61]")

# Mastodon's own widening (config/initializers/twitter_regex.rb): more schemes, a path of
# anything but white space and <>()?, non-ASCII query characters.
_MASTODON_UCHARS = (
    "\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    "\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    "\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_MASTODON_PATH_CHAR = r"[^\p{White_Space}<>()?]"
_MASTODON_LINKS = _LinkSyntax.build(
    scheme=r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://",
    punctuation=_PUNCTUATION_RUBY,
    path_char=_MASTODON_PATH_CHAR,
    path_end=r"[^\p{White_Space}()?!*\"'「」<>;:=,.$%\[\]~&|@]",
    path_at=rf"{_MASTODON_PATH_CHAR}+/",
    query=rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{_MASTODON_UCHARS}]",
    query_end=rf"[a-z0-9_&=#/\-{_MASTODON_UCHARS}]",
)


def _ascii_domains(domain: str):
    """_ASCII_DOMAIN_RE.finditer(domain), tried only where an ASCII chain can begin."""
    starts = _domain_starts(domain, _ASCII_SEGMENT_RE, edges_checked=False)
    position = 0
    for start in (i for i in range(len(domain)) if starts[i]):
        if start >= position and (match := _ASCII_DOMAIN_RE.match(domain, start)):
            yield match
            position = match.end()


def _punycode_length(label: str) -> int:
    """Length of a label as DNS stores it: ASCII as is, anything else as xn--punycode."""
    parts = _IDNA_DOTS_RE.split(label)
    encoded = [p if p.isascii() else "xn--" + p.encode("punycode").decode("ascii") for p in parts]
    return len(".".join(encoded))


def _x_domain_is_valid(domain: str) -> bool:
    """twitter-text's idna check: a punycode domain must be ASCII, and every label takes 1
    to 63 characters once punycode-encoded (so a long Japanese label is no link)."""
    if domain.startswith("xn--") and next(_ascii_domains(domain), None) is None:
        return False
    try:
        return all(1 <= _punycode_length(label) <= _MAX_LABEL for label in domain.split("."))
    except UnicodeError:
        return False


def x_links(text: str) -> list[tuple[int, int]]:
    """(start, length) of every link twitter-text's extractUrlsWithIndices finds, in code
    points: with a scheme, or without one on an ASCII domain (not "example.de" alone)."""
    if "." not in text:
        return []
    links: list[list[int]] = []
    for match in _X_LINKS.finditer(text):
        url, scheme, domain, path = match.group("url", "scheme", "domain", "path")
        start = match.start("url")
        # twitter-text adds the scheme's length (8 for none) to the link's, then checks 4,096.
        if not _x_domain_is_valid(domain) or len(scheme or "https://") + len(url) > 4096:
            continue
        if scheme:
            if tco := _TCO_RE.match(url):
                if len(tco.group(1)) > 40:
                    continue
                url = tco.group(0)  # a t.co link ends with its slug
            links.append([start, len(url)])
            continue
        if match.group("before") in ("-", "_", ".", "/"):
            continue
        last = None
        for ascii_domain in _ascii_domains(domain):
            last = [start + ascii_domain.start(), len(ascii_domain.group())]
            name = ascii_domain.group()
            if path or _SPECIAL_SHORT_DOMAIN_RE.match(name) or not _SHORT_DOMAIN_RE.match(name):
                links.append(last)
        if last is not None and path:
            last[1] += len(url) - len(domain)  # the last ASCII domain takes the path along
    return [(start, length) for start, length in links]


# --- X: twitter-text v3 ---------------------------------------------------------------------
# X counts a post as twitter-text does (docs.x.com "Counting characters"; the reference is
# twitter/twitter-text js/src/parseTweet.js with config/v3.json, checked against its own
# conformance suite in tests/test_platform_counting_conformance.py).


@dataclass(frozen=True)
class XTextConfig:
    """A twitter-text configuration; the defaults are config/v3.json, what X counts today."""

    max_weighted_length: int = 280
    scale: int = 100
    default_weight: int = 200  # a code point outside the ranges (CJK, emoji...) weighs 2
    transformed_url_length: int = 23  # every link is sent as a t.co link of 23
    emoji_parsing: bool = True  # an emoji weighs default_weight, however many code points
    ranges: tuple[tuple[int, int, int], ...] = (
        (0, 4351, 100),  # Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts...
        (8192, 8205, 100),  # the general punctuation spaces, ZWNJ and ZWJ
        (8208, 8223, 100),  # dashes and quotation marks
        (8242, 8247, 100),  # primes
    )

    @classmethod
    def from_twitter_text(cls, config: dict) -> XTextConfig:
        """A config as twitter-text publishes it (config/v*.json)."""
        return cls(
            max_weighted_length=config["maxWeightedTweetLength"],
            scale=config["scale"],
            default_weight=config["defaultWeight"],
            transformed_url_length=config["transformedURLLength"],
            emoji_parsing=bool(config.get("emojiParsingEnabled", False)),
            ranges=tuple((r["start"], r["end"], r["weight"]) for r in config["ranges"]),
        )

    def weight(self, char: str) -> int:
        code_point = ord(char)
        for start, end, weight in self.ranges:
            if start <= code_point <= end:
                return weight
        return self.default_weight


X_TEXT_CONFIG = XTextConfig()


@dataclass(frozen=True)
class XTextLength:
    """twitter-text's parseTweet result. The range ends are UTF-16 offsets (inclusive) into
    the text as written; both ranges start at 0."""

    weighted_length: int
    valid: bool  # not empty, within the limit, and without U+FFFE, U+FEFF or U+FFFF
    permillage: int
    valid_range_end: int
    display_range_end: int


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_x_text(text: str, config: XTextConfig = X_TEXT_CONFIG) -> XTextLength:
    """The length X gives `text`, walked as parseTweet walks it: NFC first, then a link
    weighs 23, an emoji sequence 2 (default weight), any other code point its range's weight."""
    normalized = unicodedata.normalize("NFC", text)
    links = dict(x_links(normalized))
    emoji = (
        {m.start(): m.end() - m.start() for m in EMOJI_RE.finditer(normalized)}
        if config.emoji_parsing
        else {}
    )
    limit = config.max_weighted_length * config.scale
    weighted = 0
    valid_chars = True
    offset = 0  # UTF-16 units walked so far
    valid_end = 0
    index = 0
    while index < len(normalized):
        if index in links:
            length = links[index]
            weighted += config.transformed_url_length * config.scale
        elif index in emoji:
            length = emoji[index]
            weighted += config.default_weight
        else:
            length = 1
            weighted += config.weight(normalized[index])
        offset += _utf16_length(normalized[index : index + length])
        index += length
        # Like twitter-text, look at the last character taken; a bad one ends validity.
        valid_chars = valid_chars and normalized[index - 1] not in _INVALID_CHARS
        if valid_chars and weighted <= limit:
            valid_end = offset - 1
    text_units = _utf16_length(text)
    return XTextLength(
        weighted_length=weighted // config.scale,  # whole with every published config
        valid=valid_chars and 0 < weighted <= limit,
        permillage=math.floor(weighted / config.scale / config.max_weighted_length * 1000),
        valid_range_end=valid_end + text_units - _utf16_length(normalized),
        display_range_end=max(text_units - 1, 0),
    )


def x_invalid_characters(text: str) -> list[str]:
    """The characters X refuses in a post (twitter-text's invalid characters)."""
    return sorted({c for c in text if c in _INVALID_CHARS})


# --- Mastodon: StatusLengthValidator -----------------------------------------------------------
# Mastodon counts grapheme clusters of the text with every link (with a scheme) as 23 and a
# mention of a remote account as "@username" (mastodon/mastodon
# app/validators/status_length_validator.rb; docs.joinmastodon.org/user/posting).

# Account::MENTION_RE: @user or @user@domain, not inside a word, an address or a path.
_MASTODON_MENTION_RE = regex.compile(
    r"(?<![=/\w])@(?P<user>[a-z0-9_]+(?:[a-z0-9_.\-]+[a-z0-9_]+)?)(?:@[\w.\-]+\w+)?",
    regex.IGNORECASE,
)
# twitter-text's end_mention_match: no mention when another @, an accented letter or :// follows.
_MENTION_END_RE = regex.compile(rf"[@\uff20{_LATIN_ACCENTS}]|://")
MASTODON_URL_LENGTH = 23


def _mastodon_entities(text: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of the links and mentions Mastodon rewrites before counting;
    where two overlap, the one that starts first wins (remove_overlapping_entities)."""
    entities = []
    if ":" in text:
        for match in _MASTODON_LINKS.finditer(text):
            if match.group("scheme"):  # Mastodon counts only links with a scheme
                entities.append((match.start("url"), match.end("url"), "x" * MASTODON_URL_LENGTH))
    if "@" in text or "\uff20" in text:
        for match in _MASTODON_MENTION_RE.finditer(text):
            if not _MENTION_END_RE.match(text, match.end()):
                entities.append((match.start(), match.end(), "@" + match.group("user")))
    kept: list[tuple[int, int, str]] = []
    for entity in sorted(entities):
        if not kept or kept[-1][1] <= entity[0]:
            kept.append(entity)
    return kept


def count_mastodon(text: str) -> int:
    """The length Mastodon checks against max_characters (a blank text counts 0)."""
    if not text.strip():
        return 0
    parts, position = [], 0
    for start, end, replacement in _mastodon_entities(text):
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return len(GRAPHEME_RE.findall("".join(parts)))


def count_text(text: str, counting: str) -> int:
    """Length of `text` as the platform counts it against its limit."""
    if counting == Counting.X_WEIGHTED:
        return parse_x_text(text).weighted_length
    if counting == Counting.URL_23:
        return count_mastodon(text)
    if counting == Counting.GRAPHEMES:
        return len(GRAPHEME_RE.findall(text))
    if counting == Counting.EMOJI_BYTES:
        # Threads: "Emojis are counted as the number of UTF-8 bytes", the rest as characters.
        total = 0
        emoji = {m.start(): m.group() for m in EMOJI_RE.finditer(text)}
        index = 0
        while index < len(text):
            if index in emoji:
                total += len(emoji[index].encode())
                index += len(emoji[index])
            else:
                total += 1
                index += 1
        return total
    return len(text)
