"""Lesson links: a page's settings read from the URL's query parameters (a teacher's "open
this" link), checked like typed values, and the URL kept in step with the page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

SEEN = "links_seen"  # per page: the query values it applied or wrote, latest last
REMEMBERED = 20  # how many of them: a browser's address bar is at most a few runs behind


def from_link(page: str, names: tuple[str, ...], apply: Callable[[dict[str, str]], str | None]):
    """If the URL carries values of `names` that this page did not write itself (a link just
    opened), hand them to `apply`, which sets the widgets' state or returns what is wrong.
    Returns that problem (kept until the next link) or None.

    Not only the latest values count as the page's own: on a slow server a browser can ask
    for the next run before its address bar has taken the last run's values, and those older
    values must not undo what the student typed since."""
    given = {name: st.query_params[name] for name in names if name in st.query_params}
    if given and given not in seen_links(page):
        remember_link(page, given)
        st.session_state[f"{SEEN}-{page}"] = apply(dict(given))
    return st.session_state.get(f"{SEEN}-{page}")


def keep_link(page: str, values: dict[str, object]) -> None:
    """Put the page's current values in the URL, so that copying it shares them."""
    text = {name: str(value) for name, value in values.items() if value is not None}
    remember_link(page, text)
    if st.query_params.to_dict() != text:
        st.query_params.from_dict(text)


def seen_links(page: str) -> list[dict[str, str]]:
    return st.session_state.setdefault(SEEN, {}).setdefault(page, [])


def remember_link(page: str, values: dict[str, str]) -> None:
    seen = seen_links(page)
    if values in seen:
        seen.remove(values)
    seen.append(values)
    del seen[:-REMEMBERED]
