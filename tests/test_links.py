# ruff: noqa: E501 - one link form per line reads as a table
"""The canonical link of a post (bot.domain.links): every form a link to one post comes in gives one key, and
different posts never share one; a link that cannot be used says what is wrong with it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.incident import Network, Source
from bot.domain.links import BadLink, cut_link, find_links, network_of, parse_link, post_key

MSK = ZoneInfo("Europe/Moscow")

# (a link as people and monitoring systems send it, its network, the canonical key, owner, post, comment)
FORMS: list[tuple[str, Network, str, str | None, str | None, str | None]] = [
    # VK: one comment of one wall post, in the forms of the issue and more
    ("https://vk.com/wall-123_456?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://m.vk.com/wall-123_456?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://vk.ru/wall-123_456?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://vk.com/wall-123_456?reply=789&utm_source=tg", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("http://vk.com/wall-123_456?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://vk.com/wall-123_456/?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://vk.com/wall-123_456?reply=789/", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("vk.com/wall-123_456?reply=789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://new.vk.com/wall-123_456?reply=789&thread=700", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://www.vk.com/club123?w=wall-123_456_r789", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    ("https://m.vk.ru/wall-123_456?reply=789#comments", Network.vk, "https://vk.com/wall-123_456?reply=789", "-123", "456", "789"),
    # VK: the post itself, opened over other pages
    ("https://vk.com/wall-123_456", Network.vk, "https://vk.com/wall-123_456", "-123", "456", None),
    ("https://vk.com/public123?w=wall-123_456", Network.vk, "https://vk.com/wall-123_456", "-123", "456", None),
    ("https://vk.com/feed?w=wall-123_456&z=x", Network.vk, "https://vk.com/wall-123_456", "-123", "456", None),
    ("https://vk.com/id5?w=wall5_17", Network.vk, "https://vk.com/wall5_17", "5", "17", None),
    ("vk.com/WALL-123_456", Network.vk, "https://vk.com/wall-123_456", "-123", "456", None),
    # VK: photos, videos, clips, board topics; VK Video and vk.me are VK
    ("https://vk.com/photo-1_457239017", Network.vk, "https://vk.com/photo-1_457239017", "-1", "457239017", None),
    ("https://vk.com/club1?z=photo-1_457239017%2Fwall-1_2", Network.vk, "https://vk.com/photo-1_457239017", "-1", "457239017", None),
    ("https://vk.com/video-1_456239", Network.vk, "https://vk.com/video-1_456239", "-1", "456239", None),
    ("https://vkvideo.ru/video-1_456239", Network.vk, "https://vk.com/video-1_456239", "-1", "456239", None),
    ("https://vk.com/video?z=video-1_456239%2Fpl_cat_trends", Network.vk, "https://vk.com/video-1_456239", "-1", "456239", None),
    ("https://vk.com/clip-1_456239", Network.vk, "https://vk.com/clip-1_456239", "-1", "456239", None),
    ("https://vk.com/topic-1_9?post=44", Network.vk, "https://vk.com/topic-1_9?post=44", "-1", "9", "44"),
    ("https://vk.com/photo-1_2?reply=3", Network.vk, "https://vk.com/photo-1_2?reply=3", "-1", "2", "3"),
    # VK: community and person pages (club, public and event are one community)
    ("https://vk.com/club1", Network.vk, "https://vk.com/club1", "-1", None, None),
    ("https://vk.com/public1", Network.vk, "https://vk.com/club1", "-1", None, None),
    ("https://m.vk.com/event1/", Network.vk, "https://vk.com/club1", "-1", None, None),
    ("https://vk.com/Adm_Kluchi", Network.vk, "https://vk.com/adm_kluchi", "adm_kluchi", None, None),
    ("https://vk.me/club1", Network.vk, "https://vk.me/club1", "club1", None, None),
    # OK: group topics and a person's statuses; mobile and old forms
    ("https://ok.ru/group/5/topic/9", Network.ok, "https://ok.ru/group/5/topic/9", "5", "9", None),
    ("https://m.ok.ru/group/5/topic/9?utm_campaign=x", Network.ok, "https://ok.ru/group/5/topic/9", "5", "9", None),
    ("http://www.odnoklassniki.ru/group/5/topic/9/", Network.ok, "https://ok.ru/group/5/topic/9", "5", "9", None),
    ("https://m.ok.ru/dk?st.cmd=altGroupForum&st.groupId=5&st.topicId=9", Network.ok, "https://ok.ru/group/5/topic/9", "5", "9", None),
    ("https://m.ok.ru/dk?st.cmd=altGroupForum&st.groupid=5&st.topicid=9", Network.ok, "https://ok.ru/group/5/topic/9", "5", "9", None),
    ("https://ok.ru/profile/572/statuses/1554", Network.ok, "https://ok.ru/profile/572/statuses/1554", "572", "1554", None),
    ("https://ok.ru/adm.kluchi/topic/77", Network.ok, "https://ok.ru/adm.kluchi/topic/77", "adm.kluchi", "77", None),
    ("https://ok.ru/video/12345", Network.ok, "https://ok.ru/video/12345", None, "12345", None),
    # Telegram: public and private channels, comments, the web preview, forum topics
    ("https://t.me/name/123", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("https://t.me/Name/123?single", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("https://t.me/s/name/123", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("https://telegram.me/name/123/", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("t.me/name/123?comment=5", Network.telegram, "https://t.me/name/123?comment=5", "name", "123", "5"),
    ("https://t.me/name/123?comment=5&thread=4", Network.telegram, "https://t.me/name/123?comment=5", "name", "123", "5"),
    ("https://t.me/c/1234567890/55", Network.telegram, "https://t.me/c/1234567890/55", "c/1234567890", "55", None),
    ("https://t.me/c/1234567890/7/55", Network.telegram, "https://t.me/c/1234567890/55", "c/1234567890", "55", None),
    ("https://t.me/name/7/55", Network.telegram, "https://t.me/name/55", "name", "55", None),
    ("https://t.me/+AbCdEf123", Network.telegram, "https://t.me/+AbCdEf123", None, None, None),
    # t.me's own words in any case: t.me/C/… kept its channel 1234567890 as the "channel" c, post 55 of any
    ("https://t.me/C/1234567890/55", Network.telegram, "https://t.me/c/1234567890/55", "c/1234567890", "55", None),
    ("https://t.me/S/name/123", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("https://t.me/c/1234567890", Network.telegram, "https://t.me/c/1234567890", "c/1234567890", None, None),
    # Instant View: every t.me/iv?url=… was one key; the article it shows is the post
    ("https://t.me/iv?url=https%3A%2F%2Fkluchi-adm.ru%2Fnews%2F15&rhash=5f1e", Network.site, "https://kluchi-adm.ru/news/15", None, None, None),
    ("https://t.me/iv?url=https://vk.com/wall-1_2&rhash=77", Network.vk, "https://vk.com/wall-1_2", "-1", "2", None),
    # Дзен: articles, posts, videos; ids keep their case
    ("https://dzen.ru/a/ZXyZ12-ab", Network.dzen, "https://dzen.ru/a/ZXyZ12-ab", None, "ZXyZ12-ab", None),
    ("https://dzen.ru/a/ZXyZ12-ab?share_to=link&utm_referer=dzen.ru", Network.dzen, "https://dzen.ru/a/ZXyZ12-ab", None, "ZXyZ12-ab", None),
    ("https://zen.yandex.ru/a/ZXyZ12-ab/", Network.dzen, "https://dzen.ru/a/ZXyZ12-ab", None, "ZXyZ12-ab", None),
    ("https://dzen.ru/b/ZkKl9", Network.dzen, "https://dzen.ru/b/ZkKl9", None, "ZkKl9", None),
    ("https://dzen.ru/video/watch/65f1a2b3", Network.dzen, "https://dzen.ru/video/watch/65f1a2b3", None, "65f1a2b3", None),
    ("https://dzen.ru/adm_kluchi", Network.dzen, "https://dzen.ru/adm_kluchi", "adm_kluchi", None, None),
    # MAX: channels and their posts
    ("https://max.ru/adm_kluchi", Network.max, "https://max.ru/adm_kluchi", "adm_kluchi", None, None),
    ("https://max.ru/adm_kluchi/AZqL7xQ", Network.max, "https://max.ru/adm_kluchi/AZqL7xQ", "adm_kluchi", "AZqL7xQ", None),
    ("https://web.max.ru/adm_kluchi/AZqL7xQ?utm_source=site", Network.max, "https://max.ru/adm_kluchi/AZqL7xQ", "adm_kluchi", "AZqL7xQ", None),
    # YouTube: watch, youtu.be, shorts, live, embed are one video; lc= is a comment
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
    ("https://youtu.be/dQw4w9WgXcQ?si=Xy12&t=30", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&feature=share", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
    ("https://youtube.com/shorts/dQw4w9WgXcQ", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
    ("https://www.youtube.com/live/dQw4w9WgXcQ", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzX1", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzX1", None, "dQw4w9WgXcQ", "UgzX1"),
    ("https://www.youtube.com/@AdmKluchi", Network.youtube, "https://youtube.com/@admkluchi", "@admkluchi", None, None),
    # YouTube community posts: posts of their own, whichever page of their channel shows them (they were the channel)
    ("https://www.youtube.com/@mosgorod/community?lb=UgkxAAAA", Network.youtube, "https://youtube.com/post/UgkxAAAA", None, "UgkxAAAA", None),
    ("https://youtube.com/post/UgkxAAAA?si=Qw1", Network.youtube, "https://youtube.com/post/UgkxAAAA", None, "UgkxAAAA", None),
    ("https://www.youtube.com/channel/UCx5Kd/community?lb=UgkxAAAA", Network.youtube, "https://youtube.com/post/UgkxAAAA", None, "UgkxAAAA", None),
    ("https://m.youtube.com/@mosgorod/community?lb=UgkxAAAA&lc=UgyC1", Network.youtube, "https://youtube.com/post/UgkxAAAA?lc=UgyC1", None, "UgkxAAAA", "UgyC1"),
    ("https://www.youtube.com/channel/UCx5Kd", Network.youtube, "https://youtube.com/channel/UCx5Kd", "UCx5Kd", None, None),
    # Other networks
    ("https://www.instagram.com/reel/C1aBcD/?igsh=MTc", Network.instagram, "https://instagram.com/p/C1aBcD", None, "C1aBcD", None),
    ("https://instagram.com/p/C1aBcD/", Network.instagram, "https://instagram.com/p/C1aBcD", None, "C1aBcD", None),
    ("https://twitter.com/Adm/status/1789?s=20", Network.twitter, "https://x.com/i/status/1789", None, "1789", None),
    ("https://x.com/renamed/status/1789/photo/1", Network.twitter, "https://x.com/i/status/1789", None, "1789", None),
    ("https://twitter.com/AdmKluchi", Network.twitter, "https://x.com/admkluchi", "admkluchi", None, None),
    ("https://x.com/admkluchi?lang=ru", Network.twitter, "https://x.com/admkluchi", "admkluchi", None, None),
    # A page of a network that names no post: its main host all the same (vk.ru and vk.com were two keys)
    ("https://vk.ru/Market-1?section=album_2", Network.vk, "https://vk.com/market-1?section=album_2", None, None, None),
    ("https://m.facebook.com/story.php?story_fbid=10&id=20&mibextid=abc", Network.facebook, "https://facebook.com/story.php?id=20&story_fbid=10", None, "10", None),
    # Sites: https, no www., no tracking, no trailing slash, parameters sorted; the path keeps its case
    ("https://www.Kluchi-Adm.ru/news/15/?utm_source=vk&utm_medium=post", Network.site, "https://kluchi-adm.ru/news/15", None, None, None),
    ("http://kluchi-adm.ru/news/15#comments", Network.site, "https://kluchi-adm.ru/news/15", None, None, None),
    ("kluchi-adm.ru/news/15", Network.site, "https://kluchi-adm.ru/news/15", None, None, None),
    ("https://kluchi-adm.ru/index.php?b=2&a=1&fbclid=X", Network.site, "https://kluchi-adm.ru/index.php?a=1&b=2", None, None, None),
    ("https://kluchi-adm.ru/news/15?gclid=1&yclid=2&_openstat=3&utm_content=a", Network.site, "https://kluchi-adm.ru/news/15", None, None, None),
    # A site's other parameters may choose the page: from, rid, share, ref stay (they were dropped as tracking)
    ("https://kluchi-adm.ru/news?rid=15&utm_source=vk", Network.site, "https://kluchi-adm.ru/news?rid=15", None, None, None),
    ("https://kluchi-adm.ru/view?share=1&from=2&ref=7", Network.site, "https://kluchi-adm.ru/view?from=2&ref=7&share=1", None, None, None),
    ("https://kluchi-adm.ru:443/News/15", Network.site, "https://kluchi-adm.ru/News/15", None, None, None),
    ("https://kluchi-adm.ru:8080/news/15", Network.site, "https://kluchi-adm.ru:8080/news/15", None, None, None),
    ("https://xn--80aalqabyj2ajl4c8g.xn--p1ai/новости/1/", Network.site, parse_link("https://администрация.рф/новости/1").key, None, None, None),
    ("https://example.org/#!/post/5", Network.site, "https://example.org#!/post/5", None, None, None),
    # Invisible characters copied around or inside a link (zero-width space, BOM, word joiner, soft hyphen,
    # bidi marks) are not part of it: the comment id stayed "8\u200b", not a number, and the key was the post's
    ("\u200bhttps://vk.com/wall-1_5?reply=8\u200b", Network.vk, "https://vk.com/wall-1_5?reply=8", "-1", "5", "8"),
    ("\ufeffvk.com/wall-1_5?reply=8\ufeff", Network.vk, "https://vk.com/wall-1_5?reply=8", "-1", "5", "8"),
    ("https://vk.com/wall-1_5?re\u00adply=8\u2060", Network.vk, "https://vk.com/wall-1_5?reply=8", "-1", "5", "8"),
    ("\u200ehttps://t.me/name/12\u200d3\u200f", Network.telegram, "https://t.me/name/123", "name", "123", None),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ\u200c", Network.youtube, "https://youtube.com/watch?v=dQw4w9WgXcQ", None, "dQw4w9WgXcQ", None),
]  # fmt: skip


@pytest.mark.parametrize(("given", "network", "key", "owner", "post", "comment"), FORMS, ids=[f[0] for f in FORMS])
def test_every_form_of_a_link_reads_as_its_network_owner_post_and_comment(
    given: str, network: Network, key: str, owner: str | None, post: str | None, comment: str | None
) -> None:
    link = parse_link(given)
    assert (link.network, link.key, link.owner, link.post, link.comment) == (network, key, owner, post, comment)
    assert parse_link(link.key).key == key  # the canonical form is its own canonical form


def test_a_link_read_keeps_no_invisible_character() -> None:
    link = parse_link("\u2066\u200bhttps://vk.com/wall-1_5?reply=8\ufeff\u2069")
    assert link.url == "https://vk.com/wall-1_5?reply=8"  # the link stored and shown to people
    assert parse_link("\u200bvk.com/wall-1_5").url == "https://vk.com/wall-1_5"


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060"])
def test_a_comment_link_copied_with_an_invisible_character_is_still_that_comment(invisible: str) -> None:
    """QA: the comment id "8\u200b" was not a number, so the key became the post's: the comment was refused
    as 'already registered' when the post was, or the post when the comment came first."""
    comment = parse_link("https://vk.com/wall-1_5?reply=8")
    copied = parse_link("https://vk.com/wall-1_5?reply=8" + invisible)
    assert copied.key == comment.key
    assert copied.key != parse_link("https://vk.com/wall-1_5").key


def test_two_community_posts_of_one_youtube_channel_are_two_posts() -> None:
    """QA: every link under youtube.com/@handle/… was the channel, so a channel's second post was refused."""
    first = parse_link("https://www.youtube.com/@mosgorod/community?lb=UgkxAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    second = parse_link("https://www.youtube.com/@mosgorod/community?lb=UgkxBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
    assert first.key != second.key
    assert first.key != parse_link("https://www.youtube.com/@mosgorod").key  # nor is a post its channel


def test_the_table_has_forty_forms_and_different_posts_never_share_a_key() -> None:
    assert len(FORMS) >= 40
    networks = {network for _, network, *_ in FORMS}
    assert {Network.vk, Network.ok, Network.telegram, Network.dzen, Network.max, Network.youtube} <= networks
    # Keys that differ in one id only: a comment is not its post, another comment is another post.
    different = [
        "https://vk.com/wall-123_456",
        "https://vk.com/wall-123_456?reply=789",
        "https://vk.com/wall-123_456?reply=790",
        "https://vk.com/wall-123_457",
        "https://vk.com/wall123_456",
        "https://vk.com/photo-123_456",
        "https://t.me/name/123",
        "https://t.me/name/123?comment=5",
        "https://t.me/other/123",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcq",  # YouTube ids are case-sensitive
        "https://dzen.ru/a/ZXyZ",
        "https://dzen.ru/a/ZXYZ",
        "https://kluchi-adm.ru/news/15",
        "https://m.kluchi-adm.ru/news/15",  # another host of a site may be another site
        "https://kluchi-adm.ru/news/15?id=2",
        "https://kluchi-adm.ru/news/15?rid=2",
        "https://kluchi-adm.ru/news/15?from=2",
        "https://t.me/iv?url=https://kluchi-adm.ru/news/16&rhash=5f1e",  # every Instant View was one key
        "https://t.me/iv?url=https://kluchi-adm.ru/news/17&rhash=5f1e",
        "https://t.me/c/1234567890/55",
        "https://t.me/c/1234567891/55",  # t.me/C/…: the channel was lost
        "https://youtube.com/post/UgkxAAAA",
        "https://youtube.com/post/UgkxBBBB",
        "https://x.com/admkluchi",
        "https://x.com/other",
    ]
    assert len({parse_link(u).key for u in different}) == len(different)


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("https://vk.me/club1", Network.vk),
        ("https://vkvideo.ru/video-1_2", Network.vk),
        ("https://dzen.ru/a/abc", Network.dzen),
        ("https://max.ru/channel", Network.max),
        ("https://www.youtube.com/watch?v=x", Network.youtube),
        ("https://pp.userapi.com/photo.jpg", Network.site),
        ("https://vk.cc/abc", Network.site),  # a shortener: it may lead anywhere
        (None, Network.other),
        ("not a link", Network.other),
    ],
)
def test_networks_of_their_own(url: str | None, network: Network) -> None:
    assert network_of(url) is network


@pytest.mark.parametrize(
    ("given", "key", "words"),
    [
        ("ftp://vk.com/wall-1_2", "link_scheme", "starts with https:// or http://"),
        ("\u200bftp://vk.com/wall-1_2", "link_scheme", "«ftp://vk.com/wall-1_2» is not a web link"),
        ("\u200b\ufeff", "link_host", "the link is empty"),
        ("https://vk.com/wall-1_2\x00", "bad_character", "U+0000"),
        ("https://vk.com/wall-1_2?reply=\ud800", "bad_character", "U+D800"),
        ("https://vk.com/wall-1_2\x07", "link_spaces", "control characters"),
        ("javascript:alert(1)", "link_scheme", "not a web link"),
        ("wall-1_2", "link_scheme", "not a link to a post"),
        ("https:///wall-1_2", "link_host", "names no site"),
        ("https://vk/wall-1_2", "link_host", "names no site"),
        ("https://vk.com/wall-1 _2", "link_spaces", "contains spaces"),
        ("https://vk.com/" + "a" * 2100, "link_length", "longer than 2048 characters"),
        ("https://vk.com:99999/wall-1_2", "link_host", "port"),
    ],
)
def test_a_link_that_cannot_be_used_says_what_is_wrong_with_it(given: str, key: str, words: str) -> None:
    with pytest.raises(BadLink) as refused:
        parse_link(given)
    assert refused.value.key == key and words in str(refused.value)
    assert "published comment" not in str(refused.value)


def test_a_post_without_a_link_is_its_text_at_its_moment() -> None:
    moment = datetime(2026, 11, 24, 10, 30, tzinfo=MSK)
    post = Source(Network.other, None, "Мария", "Яма  во дворе\n", moment)
    assert post_key(post) == post_key(
        Source(Network.vk, None, None, "Яма во дворе", moment.astimezone(ZoneInfo("UTC")))
    )
    assert post_key(post) != post_key(Source(Network.other, None, None, "Яма во дворе", moment.replace(minute=31)))
    assert post_key(post) != post_key(Source(Network.other, None, None, "Яма в подъезде", moment))
    linked = Source(Network.vk, "https://m.vk.com/wall-1_2", None, "другой текст", moment)
    assert post_key(linked) == "https://vk.com/wall-1_2"  # with a link, only the link counts


@pytest.mark.parametrize(
    ("text", "links", "left"),
    [
        ("Яма во дворе (https://vk.com/wall-1_2)", ["https://vk.com/wall-1_2"], "Яма во дворе"),
        ("vk.com/wall-123_456?reply=789 У нас во дворе яма", ["vk.com/wall-123_456?reply=789"], "У нас во дворе яма"),
        ("Смотрите https://t.me/name/5, там яма.", ["https://t.me/name/5"], "Смотрите, там яма."),
        ("Жалоба: https://ok.ru/group/5/topic/9", ["https://ok.ru/group/5/topic/9"], "Жалоба"),
        ("https://vk.com/wall-1_2 — мусор\nвторая строка", ["https://vk.com/wall-1_2"], "мусор\nвторая строка"),
        ("Пост «https://dzen.ru/a/X» о дорогах", ["https://dzen.ru/a/X"], "Пост о дорогах"),
        ("(см. m.vk.com/wall-1_2)", ["m.vk.com/wall-1_2"], "(см.)"),
        ("Ссылка https://kluchi-adm.ru/a_(b) внутри.", ["https://kluchi-adm.ru/a_(b)"], "Ссылка внутри."),
        ("Почта admin@vk.com/x и текст", [], "Почта admin@vk.com/x и текст"),
        # Invisible characters pasted with a link go with it, not into the post's text
        ("Яма во дворе \u200bhttps://vk.com/wall-1_2\u200b", ["https://vk.com/wall-1_2"], "Яма во дворе"),
        ("\ufeffvk.com/wall-1_2?reply=3\u2060 У нас яма", ["vk.com/wall-1_2?reply=3"], "У нас яма"),
    ],
)
def test_links_in_a_message_are_found_and_cut_out_leaving_clean_text(text: str, links: list[str], left: str) -> None:
    spans = find_links(text)
    assert [text[a:b] for a, b in spans] == links
    if spans:
        start, end = spans[0]
        assert cut_link(text, start, end) == left


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_every_network_has_its_name_on_cards_and_in_the_report(locale: str) -> None:
    from bot.i18n import make_i18n, translate
    from bot.report import NETWORK_LABELS
    from handlers.render import network_label

    i18n = make_i18n()
    with i18n.context(), i18n.use_locale(locale):
        on_cards = {network: network_label(network) for network in Network}
    in_report = {network: translate(locale, NETWORK_LABELS[network.value]) for network in Network}
    assert on_cards == in_report
    expected = {"ru": ("Дзен", "MAX", "YouTube"), "en": ("Dzen", "MAX", "YouTube")}[locale]
    assert (in_report[Network.dzen], in_report[Network.max], in_report[Network.youtube]) == expected
