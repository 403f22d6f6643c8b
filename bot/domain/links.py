"""The canonical form of a post's link: one key for every form a link to the same post comes in (SPEC §2, §7).

People and monitoring systems send one post under many links: `https://m.vk.com/wall-1_2?reply=3`,
`vk.ru/wall-1_2?reply=3&utm_source=tg`, `https://vk.com/club1?w=wall-1_2_r3`… all name comment 3 of
post 2 on the wall of community 1. :func:`parse_link` reads a link into a :class:`PostLink` whose
``key`` is the same for all of them, so every intake path (a curator's message, a file, the intake
API), duplicate detection and the repeat offer recognise the post whatever form it came in.

What is dropped: invisible characters pasted with a link (zero-width spaces and joiners, a byte order
mark, the word joiner, soft hyphens, bidi marks: Unicode's format characters), the scheme (``http``/``https``,
or none, as Telegram shows links), host aliases (``www.``, ``m.vk.com``, ``vk.ru``, ``new.vk.com``,
``m.ok.ru``, ``telegram.me``, ``t.me/s/``, ``youtu.be``, ``zen.yandex.ru``, ``twitter.com``…), known
tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``yclid``, ``_openstat``…; a site's other
parameters may choose its content, so they stay), fragments, trailing slashes, and on the networks we
know every parameter that does not name the post. What is kept: the network, the owner (community,
channel, profile), the post and, where the network has them in its links, the comment (VK ``?reply=``,
Telegram ``?comment=``, YouTube ``&lc=``).
Identifiers that are case-sensitive on their network (YouTube, Дзен, MAX, Instagram, invite links)
keep their case; names that are not (VK and Telegram screen names, hosts) are lower-cased.

Pure Python: no I/O, no aiogram, no SQL.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from bot.domain.errors import InvalidInput
from bot.domain.incident import MAX_URL, Network, Source, unstorable
from bot.domain.texts import Sentence

# A host belongs to a network when it is one of these or a subdomain of one (m.vk.com, web.max.ru).
NETWORK_HOSTS: dict[Network, tuple[str, ...]] = {
    Network.vk: ("vk.com", "vk.ru", "vkontakte.ru", "vk.me", "vkvideo.ru", "vk.video"),
    Network.ok: ("ok.ru", "odnoklassniki.ru"),
    Network.telegram: ("t.me", "telegram.me", "telegram.dog", "telegram.org"),
    Network.max: ("max.ru",),
    Network.dzen: ("dzen.ru", "zen.yandex.ru", "zen.yandex.com"),
    Network.youtube: ("youtube.com", "youtu.be", "youtube-nocookie.com"),
    Network.instagram: ("instagram.com", "instagr.am"),
    Network.facebook: ("facebook.com", "fb.com", "fb.watch"),
    Network.twitter: ("twitter.com", "x.com"),
}

# Parameters that only say where a reader came from — the click ids and campaign tags of advertising and
# analytics systems (Google, Yandex, Facebook, Microsoft, Mailchimp, HubSpot…) — dropped from every link, a
# site's too. Nothing else is dropped from a site's link: a parameter such as ``from``, ``rid``, ``share``
# or ``ref`` may well choose what the page shows (a news site's ``?rid=`` is the record), so two links that
# differ in one are two pages. On the networks we know, only the parameters that name the post are read.
TRACKING = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "yclid", "ysclid", "msclkid", "_openstat",
        "mc_cid", "mc_eid", "igshid", "igsh", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "twclid", "ttclid",
        "li_fat_id", "srsltid", "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "wickedid",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_",)

# Other names of the networks' own sites: a link under one is keyed under the network's main host, so the
# same page is one key whichever of them it was opened on (twitter.com/name and x.com/name).
HOST_ALIASES = {
    "vk.ru": "vk.com", "m.vk.com": "vk.com", "m.vk.ru": "vk.com", "new.vk.com": "vk.com",
    "vkontakte.ru": "vk.com", "m.vkontakte.ru": "vk.com",
    "m.ok.ru": "ok.ru", "odnoklassniki.ru": "ok.ru", "m.odnoklassniki.ru": "ok.ru",
    "telegram.me": "t.me", "telegram.dog": "t.me",
    "zen.yandex.ru": "dzen.ru", "zen.yandex.com": "dzen.ru", "m.dzen.ru": "dzen.ru",
    "web.max.ru": "max.ru",
    "m.youtube.com": "youtube.com", "music.youtube.com": "youtube.com",
    "instagr.am": "instagram.com", "m.instagram.com": "instagram.com",
    "m.facebook.com": "facebook.com", "mbasic.facebook.com": "facebook.com", "web.facebook.com": "facebook.com",
    "fb.com": "facebook.com",
    "twitter.com": "x.com", "mobile.twitter.com": "x.com", "mobile.x.com": "x.com",
}  # fmt: skip

_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_\-\u00a0-\uffff]{1,63}(?<!-)")  # "_": not a hostname, yet in use
_BARE_HOST = re.compile(r"[^\s/?#:@]+\.[^\s/?#:@.\d]{2,}(?::\d{1,5})?(?=[/?#]|$)", re.I)
# A post's id inside VK links: wall-1_2, photo5_6, video-1_2, clip-1_2, topic-1_2 (also w=wall-1_2_r3).
_VK_ITEM = re.compile(
    r"(wall|photo|video|clip|topic|market|album|doc|note|poll|story|podcast)(-?\d+)_(\d+)(?:_r(\d+))?"
)
_VK_PAGE = re.compile(r"(club|public|event)(\d+)")
_TOO_LONG = Sentence("the link is longer than {limit} characters", limit=MAX_URL)


class BadLink(InvalidInput):
    """A post's link that cannot be used, with what is wrong with it (``key``: link_scheme, link_host,
    link_spaces, link_length, or bad_character for a character no database can store)."""


@dataclass(frozen=True)
class PostLink:
    """A post's link as read: ``url`` is the link as given (``https://`` added when it came without a
    scheme), ``key`` the canonical form shared by every link to the same post; ``owner``, ``post`` and
    ``comment`` are the ids the network's links carry (None where the link has none)."""

    url: str
    key: str
    network: Network
    owner: str | None = None
    post: str | None = None
    comment: str | None = None


def parse_link(text: str) -> PostLink:
    """Read a link to a post (``https://…``, ``http://…``, ``//…`` or ``vk.com/…`` without a scheme).

    Invisible characters around or inside it are dropped first (:func:`visible`): a link copied from an
    app often carries a zero-width space or a byte order mark, and is still the same link; ``url`` is the
    link without them. Raises BadLink (an InvalidInput) saying what is wrong: a character no database can
    store (NUL, a lone surrogate), not a web link, no site named, spaces or control characters inside,
    longer than ``MAX_URL`` (2048, the width of ``sources.url``) characters.
    """
    given = visible(text or "").strip().strip("<>")
    if not given:
        raise BadLink(Sentence("the link is empty"), key="link_host")
    if len(given) > MAX_URL:
        raise BadLink(_TOO_LONG, key="link_length", limit=MAX_URL)
    bad = unstorable(given)
    if bad is not None:
        raise BadLink(
            Sentence("the link contains the character {bad}, which cannot be stored: remove it", bad=bad),
            key="bad_character",
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in given):
        raise BadLink(
            Sentence("the link contains spaces, line breaks or control characters: send one link, without spaces"),
            key="link_spaces",
        )
    url = _with_scheme(given)
    parts = urlsplit(url)
    host = _host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        raise BadLink(Sentence("the link has a broken port number after the site's name"), key="link_host") from None
    if not host:
        raise BadLink(Sentence("the link names no site (expected e.g. https://vk.com/…)"), key="link_host")
    if len(url) > MAX_URL:  # the scheme we added
        raise BadLink(_TOO_LONG, key="link_length", limit=MAX_URL)
    network = network_of_host(host)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    query = _query(parts.query.rstrip("/"))  # "?reply=789/": a slash pasted after the last value
    viewed = _instant_view(network, segments, query)
    if viewed is not None:  # t.me/iv?url=…: Telegram's reader of an article is that article
        return PostLink(url, viewed.key, viewed.network, viewed.owner, viewed.post, viewed.comment)
    reader = _READERS.get(network)
    found = reader(host, segments, query) if reader is not None else None
    if found is not None:
        key, owner, post, comment = found
        return PostLink(url, key, network, owner, post, comment)
    return PostLink(url, _generic_key(host, port, parts.scheme, segments, query, parts.fragment, network), network)


def visible(text: str) -> str:
    """``text`` without Unicode's format characters (category Cf): zero-width space, joiner and non-joiner,
    the byte order mark U+FEFF, the word joiner U+2060, the soft hyphen U+00AD, bidi marks and isolates.
    They are invisible, so a person cannot see or remove them, and no link contains one on purpose."""
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _instant_view(network: Network, segments: list[str], query: dict[str, str]) -> PostLink | None:
    """``t.me/iv?url=<article>&rhash=…`` (Telegram's Instant View) read as the article it shows; None for
    any other link, or when the ``url`` parameter is not a usable link (then the whole query is kept)."""
    if network is not Network.telegram or [s.lower() for s in segments] != ["iv"] or not query.get("url"):
        return None
    try:
        return parse_link(query["url"])  # each level is shorter than the last: this ends
    except BadLink:
        return None


def network_of_host(host: str) -> Network:
    """The network a host name belongs to; any other host is a ``site``."""
    host = _host(host)
    for network, hosts in NETWORK_HOSTS.items():
        if any(host == h or host.endswith("." + h) for h in hosts):
            return network
    return Network.site


def network_of(url: str | None) -> Network:
    """The network a link points to: ``other`` without a (usable) link, ``site`` for any other site."""
    if not url:
        return Network.other
    try:
        return parse_link(url).network
    except BadLink:
        return Network.other


def post_key(source: Source) -> str:
    """The key that identifies ``source``'s post among all registered posts.

    With a link: the link's canonical form (``parse_link(url).key``; BadLink for an unusable link).
    Without one, a message forwarded from a person or a group: where Telegram says it came from
    (``source.origin``: its sender and original date) and its text — the same message forwarded again,
    by any curator at any time, is the same post — hashed to ``forward:<sha256 hex>``. Otherwise the text
    and the moment of detection (UTC, to the microsecond) — the same text sent at the same moment is the
    same post, as when a file is imported again — hashed to ``text:<sha256 hex>``. Whitespace runs in
    the text count as one space. The text must be storable (bot.domain.incident.unstorable).
    """
    if source.url:
        return parse_link(source.url).key
    words = " ".join((source.text or "").split())
    if source.origin:
        return "forward:" + hashlib.sha256(f"{source.origin}\n{words}".encode()).hexdigest()
    moment = source.detected_at.astimezone(UTC).isoformat()
    return "text:" + hashlib.sha256(f"{words}\n{moment}".encode()).hexdigest()


# --- finding links in a message's text ------------------------------------------------------------

# For text without Telegram's entities: http(s) links, and bare links to the networks we know.
_LINK_IN_TEXT = re.compile(
    r"(?:https?://|(?<![\w@./-])(?:[a-z0-9-]+\.)*(?:" + "|".join(
        re.escape(h) for hosts in NETWORK_HOSTS.values() for h in hosts if h != "telegram.org"
    ) + r")/)[^\s<>\"'«»]+",
    re.I,
)  # fmt: skip
_CLOSERS = {")": "(", "]": "[", "}": "{"}


def find_links(text: str) -> list[tuple[int, int]]:
    """Where links are in ``text`` (start, end), for text that comes without Telegram's entities:
    http(s) links and links to known networks without a scheme (``vk.com/wall-1_2``). Punctuation
    that ends a sentence, and a closing bracket without its opening one, are not part of a link."""
    spans = []
    for match in _LINK_IN_TEXT.finditer(text):
        start, end = match.span()
        while end > start:
            last = text[end - 1]
            link = text[start:end]
            unpaired = last in _CLOSERS and link.count(_CLOSERS[last]) < link.count(last)
            if last in ".,;:!?…" or unpaired or not visible(last):  # not visible: pasted after the link
                end -= 1
            else:
                break
        spans.append((start, end))
    return spans


_PAIRS = {"(": ")", "[": "]", "{": "}", "«": "»", "<": ">", '"': '"'}
_DANGLING = " \t:—–-|,;"


def cut_link(text: str, start: int, end: int) -> str:
    """``text`` without the link at ``start:end``, tidied where the link was: brackets or quotes that
    held only the link go ("Яма во дворе (https://vk.com/wall-1_2)" → "Яма во дворе"), the spaces on
    both sides become one, and a separator left dangling at the start or the end (":", "—", "|"…)
    goes too, as do invisible characters pasted next to the link (:func:`visible`). The rest of the text,
    line breaks included, is kept as it was."""
    before, after = text[:start], text[end:]
    while before and not visible(before[-1]):
        before = before[:-1]
    while after and not visible(after[0]):
        after = after[1:]
    opening = re.search(r"(\S)[ \t]*$", before)
    closing = re.match(r"^[ \t]*(\S)", after)
    if opening and closing and _PAIRS.get(opening.group(1)) == closing.group(1):
        before, after = before[: opening.start(1)], after[closing.end(1) :]
    left, right = before.rstrip(" \t"), after.lstrip(" \t")
    if not right.strip():
        left = left.rstrip(_DANGLING)
    if not left.strip():
        right = right.lstrip(_DANGLING)
    glue = " " if left and right and not left.endswith("\n") and right[0] not in "\n,.;:!?…)]}»" else ""
    return (left + glue + right).strip()


# --- reading the parts of a link -----------------------------------------------------------------


def _with_scheme(given: str) -> str:
    lowered = given.lower()
    if lowered.startswith(("http://", "https://")):
        return given
    if lowered.startswith("//"):
        return "https:" + given
    if re.match(r"^[a-z][a-z0-9+.\-]*:", lowered) and not _BARE_HOST.match(given):
        raise BadLink(
            Sentence("«{link}» is not a web link: a post's link starts with https:// or http://", link=given[:60]),
            key="link_scheme",
        )
    if _BARE_HOST.match(given):
        return "https://" + given  # the form Telegram shows: vk.com/wall-1_2
    raise BadLink(
        Sentence(
            "«{link}» is not a link to a post: expected https://… (e.g. https://vk.com/wall-1_2)", link=given[:60]
        ),
        key="link_scheme",
    )


def _host(host: str) -> str:
    host = host.lower().rstrip(".")
    if "xn--" in host:
        try:
            host = host.encode("ascii").decode("idna")
        except (UnicodeError, ValueError):
            return ""
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return ""
    return host.removeprefix("www.")


def _query(raw: str) -> dict[str, str]:
    pairs = parse_qsl(raw, keep_blank_values=True)
    return {k: v for k, v in pairs if not _tracking(k)}


def _tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING or lowered.startswith(TRACKING_PREFIXES)


def _path(segments: list[str]) -> str:
    return "".join("/" + quote(s, safe="!$&'()*+,;=:@-._~") for s in segments)


def _generic_key(
    host: str,
    port: int | None,
    scheme: str,
    segments: list[str],
    query: dict[str, str],
    fragment: str,
    network: Network,
) -> str:
    """Any other link: https, the host without www., a non-default port, the path without a trailing
    slash, the parameters but tracking ones, sorted; a fragment only when it routes a page (#!/…)."""
    default = {"http": 80, "https": 443}.get(scheme)
    host = HOST_ALIASES.get(host, host) if network is not Network.site else host
    netloc = host if port in (None, default) else f"{host}:{port}"
    path = _path(segments)
    if network in (Network.vk, Network.ok, Network.telegram, Network.twitter):
        path = path.lower()  # names and ids on these networks are not case-sensitive
    key = f"https://{netloc}{path}"
    if query:
        key += "?" + urlencode(sorted(query.items()))
    if fragment.startswith("!"):
        key += "#" + fragment
    return key


Read = tuple[str, str | None, str | None, str | None]  # key, owner, post, comment


def _vk(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    if host == "vk.me" or host.endswith(".vk.me"):
        return (f"https://vk.me/{segments[0].lower()}", segments[0].lower(), None, None) if segments else None
    # An item opened over another page: ?w=wall-1_2, ?z=photo-1_2/wall-1_3, ?z=video-1_2/…
    candidates = [query.get("w", ""), query.get("z", "").split("/")[0], "/".join(segments[:1]).lower()]
    for candidate in candidates:
        match = _VK_ITEM.fullmatch(candidate.lower())
        if match:
            kind, owner, post, inline_reply = match.groups()
            comment = inline_reply or query.get("reply") or (query.get("post") if kind == "topic" else None)
            key = f"https://vk.com/{kind}{owner}_{post}"
            if comment and comment.isdigit():
                key += f"?{'post' if kind == 'topic' else 'reply'}={comment}"
            else:
                comment = None
            return key, owner, post, comment
    if len(segments) == 1:
        page = _VK_PAGE.fullmatch(segments[0].lower())
        if page:  # club1, public1 and event1 are one community
            return f"https://vk.com/club{page.group(2)}", "-" + page.group(2), None, None
        if re.fullmatch(r"id\d+", segments[0].lower()):
            return f"https://vk.com/{segments[0].lower()}", segments[0][2:], None, None
        if host.split(".")[-2:] in (["vk", "com"], ["vk", "ru"]) and re.fullmatch(r"[\w.]+", segments[0]):
            return f"https://vk.com/{segments[0].lower()}", segments[0].lower(), None, None
    return None


def _ok(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    lowered = [s.lower() for s in segments]
    named = {k.lower(): v for k, v in query.items()}  # st.groupId, st.groupid, ST.GROUPID: one parameter
    group, topic = named.get("st.groupid"), named.get("st.topicid")
    if group and topic:  # the old mobile form: /dk?st.cmd=…&st.groupId=…&st.topicId=…
        return f"https://ok.ru/group/{group}/topic/{topic}", group, topic, None
    if len(lowered) >= 4 and lowered[0] in ("group", "profile") and lowered[2] in ("topic", "statuses"):
        owner, post = lowered[1], lowered[3]
        return f"https://ok.ru/{lowered[0]}/{owner}/{lowered[2]}/{post}", owner, post, None
    if len(lowered) >= 3 and lowered[1] in ("topic", "statuses"):  # a group or a person by its short name
        return f"https://ok.ru/{lowered[0]}/{lowered[1]}/{lowered[2]}", lowered[0], lowered[2], None
    if len(lowered) >= 2 and lowered[0] == "video":
        return f"https://ok.ru/video/{lowered[1]}", None, lowered[1], None
    if len(lowered) == 2 and lowered[0] in ("group", "profile"):
        return f"https://ok.ru/{lowered[0]}/{lowered[1]}", lowered[1], None, None
    if len(lowered) == 1:
        return f"https://ok.ru/{lowered[0]}", lowered[0], None, None
    return None


def _telegram(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    if host == "telegram.org" or not segments:
        return None
    if segments[0].lower() == "s":  # the web preview of a channel: t.me/s/name/123
        segments = segments[1:]
    if not segments:
        return None
    first = segments[0].lower()  # t.me's own words (c, joinchat, iv…) in any case, as the site takes them
    if segments[0].startswith("+") or first in ("joinchat", "addlist"):  # invite hashes are case-sensitive
        path = segments if segments[0].startswith("+") else [first, *segments[1:]]
        return "https://t.me/" + "/".join(path), None, None, None
    comment = query.get("comment")
    comment = comment if comment and comment.isdigit() else None
    if first == "c" and len(segments) >= 2 and segments[1].isdigit():
        if len(segments) == 2:  # a private channel itself
            return f"https://t.me/c/{segments[1]}", "c/" + segments[1], None, None
        if not segments[-1].isdigit() or len(segments) > 4:
            return None
        owner, post = "c/" + segments[1], segments[-1]  # t.me/c/<chat>/<message> or /<chat>/<topic>/<message>
    elif first == "iv":
        return None  # an Instant View without a usable article link: the whole query is kept
    elif len(segments) >= 2 and segments[-1].isdigit() and len(segments) <= 3:
        owner, post = segments[0].lower(), segments[-1]  # t.me/name/<message> or /name/<topic>/<message>
    elif len(segments) == 1:
        return f"https://t.me/{segments[0].lower()}", segments[0].lower(), None, None
    else:
        return None
    key = f"https://t.me/{owner}/{post}" + (f"?comment={comment}" if comment else "")
    return key, owner, post, comment


def _youtube(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    words = [s.lower() for s in segments]  # YouTube's own words in any case; ids keep theirs
    comment = query.get("lc") or None
    video = None
    if host == "youtu.be" and segments:
        video = segments[0]
    elif words[:1] == ["watch"] and query.get("v"):
        video = query["v"]
    elif len(segments) >= 2 and words[0] in ("shorts", "live", "embed", "v"):
        video = segments[1]
    if video is not None:
        key = f"https://youtube.com/watch?v={video}" + (f"&lc={comment}" if comment else "")
        return key, None, video, comment
    # A community post: youtube.com/post/ID, or opened on its channel's page — /@handle/community?lb=ID,
    # /channel/UC…/community?lb=ID, …/posts?lb=ID: one post whichever page shows it, and each its own post.
    post = None
    if "post" in words[:-1]:
        post = segments[words.index("post") + 1]
    elif query.get("lb") and words[-1:] in (["community"], ["posts"]):
        post = query["lb"]
    if post is not None:
        return f"https://youtube.com/post/{post}" + (f"?lc={comment}" if comment else ""), None, post, comment
    if segments and segments[0].startswith("@"):  # any page of a channel is the channel; handles ignore case
        return f"https://youtube.com/{words[0]}", words[0], None, None
    if len(segments) >= 2 and words[0] == "channel":  # channel ids are case-sensitive
        return f"https://youtube.com/channel/{segments[1]}", segments[1], None, None
    return None


def _dzen(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    if not segments:
        return None
    # dzen.ru/a/<id> (article), /b/<id> (post), /video/watch/<id>, /shorts/<id>, /<channel>: ids keep their case.
    if segments[0].lower() in _DZEN_WORDS:
        segments = [segments[0].lower(), *segments[1:]]
    owner = segments[0] if segments[0] not in _DZEN_WORDS else None
    post = segments[-1] if len(segments) >= 2 else None
    return "https://dzen.ru" + _path(segments), owner, post, None


_DZEN_WORDS = ("a", "b", "video", "shorts", "media", "id")


def _max(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    if not segments:
        return None
    # max.ru/<channel> and max.ru/<channel>/<post>: ids keep their case; parameters name no post.
    return "https://max.ru" + _path(segments), segments[0], segments[1] if len(segments) > 1 else None, None


def _instagram(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    for i, segment in enumerate(segments[:2]):
        if segment.lower() in ("p", "reel", "reels", "tv") and len(segments) > i + 1:  # one shortcode, several paths
            return f"https://instagram.com/p/{segments[i + 1]}", None, segments[i + 1], None
    if len(segments) == 1:
        return f"https://instagram.com/{segments[0].lower()}", segments[0].lower(), None, None
    return None


def _facebook(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    keep = {k: v for k, v in query.items() if k in ("story_fbid", "id", "v", "fbid", "comment_id", "reply_comment_id")}
    key = "https://facebook.com" + _path(segments)
    if keep:
        key += "?" + urlencode(sorted(keep.items()))
    return key, None, keep.get("story_fbid") or keep.get("v") or keep.get("fbid"), keep.get("comment_id")


def _twitter(host: str, segments: list[str], query: dict[str, str]) -> Read | None:
    for i, segment in enumerate(segments):
        if segment.lower() == "status" and i + 1 < len(segments) and segments[i + 1].isdigit():
            # Status ids are unique across the network: the author's (changeable) name is not needed.
            return f"https://x.com/i/status/{segments[i + 1]}", None, segments[i + 1], None
    if len(segments) == 1 and re.fullmatch(r"\w{1,15}", segments[0]):  # a profile: names ignore case
        name = segments[0].lower()
        return f"https://x.com/{name}", name, None, None
    return None


_READERS: dict[Network, Callable[[str, list[str], dict[str, str]], Read | None]] = {
    Network.vk: _vk,
    Network.ok: _ok,
    Network.telegram: _telegram,
    Network.youtube: _youtube,
    Network.dzen: _dzen,
    Network.max: _max,
    Network.instagram: _instagram,
    Network.facebook: _facebook,
    Network.twitter: _twitter,
}
