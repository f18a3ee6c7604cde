"""Following `_links.next` page after page, with a guarantee of an end.

A listing ends when a page has no next link. It is refused with one sentence when the service
makes no progress: the same next link twice, `MAX_STALLED_PAGES` pages in a row that bring no
item not seen before (the same page again under a fresh continuation token, or empty pages),
or more than `MAX_PAGES` pages. An item seen on an earlier page (a listing that shifted while
it was read) is yielded once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from provisioner.errors import ApiError
from provisioner.http import limits
from provisioner.http.call import FLOW_BASE

Params = list[tuple[str, str]]
# (path relative to the Flow Service base, query) -> the page's JSON body
GetPage = Callable[[str, Params], Any]


def paged(
    get: GetPage,
    path: str,
    base: Sequence[tuple[str, str]],
    *,
    origin: str,
    what: str,
) -> Iterator[dict[str, Any]]:
    """Every item of every page of `path`, the first page queried with `base`. `origin` is the
    configured scheme://host[:port] (a next link elsewhere is refused, so the token never goes
    to another host); `what` names the listing in messages ("connections in sandbox 'dev'")."""
    params: Params = list(base)
    collection = path
    seen_links: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    seen_ids: set[str] = set()
    pages = stalled = 0
    while True:
        seen_links.add((path, tuple(params)))
        body = get(path, params)
        pages += 1
        fresh = 0
        for item in items_of(body):
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in seen_ids:
                    continue
                seen_ids.add(item_id)
            fresh += 1
            yield item
        href = next_href(body)
        if href is None:
            return
        stalled = 0 if fresh else stalled + 1
        if stalled >= limits.MAX_STALLED_PAGES:
            raise ApiError(
                f"Flow Service sent {stalled} pages in a row without a new item while listing "
                f"{what} (page {pages}, next link {_short(href)}); the listing is not moving on, "
                "so it cannot be completed: try again later"
            )
        if pages >= limits.MAX_PAGES:
            raise ApiError(
                f"Flow Service still sent a next-page link after {pages} pages while listing "
                f"{what}, more than the {limits.MAX_PAGES} pages the tool reads; the listing "
                "cannot be completed"
            )
        path, params = follow(href, base, collection, origin)
        if (path, tuple(params)) in seen_links:
            raise ApiError(
                f"Flow Service sent the same next-page link twice while listing {what} "
                f"({_short(href)}); the listing cannot be completed"
            )


def follow(
    href: str, base: Sequence[tuple[str, str]], collection: str, origin: str
) -> tuple[str, Params]:
    """The path and query of a next link, keeping the first page's parameters (limit,
    property) when the link lacks them."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        ours = urlsplit(origin)
        if (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc):
            # Never send the token to a host other than the configured gateway.
            raise ApiError(
                f"Flow Service's next-page link points to another host ({_short(parts.netloc)}); "
                "refusing to follow it"
            )
    path = (parts.path or collection).removeprefix(FLOW_BASE)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    return path, query + [(k, v) for k, v in base if k not in present]


def items_of(body: Any) -> list[dict[str, Any]]:
    items = body.get("items") if isinstance(body, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def next_href(body: Any) -> str | None:
    links = body.get("_links") if isinstance(body, dict) else None
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) and href else None


def _short(text: str, size: int = 120) -> str:
    """A link as messages show it: at most `size` characters, control characters escaped."""
    shown = text if len(text) <= size else text[:size] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
