"""Lesson links: a page's settings read from the URL's query parameters (a teacher's "open
this" link), checked like typed values, and the URL kept in step with the page."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

SEEN = "links_seen"  # per page: the query values last applied or written


def from_link(page: str, names: tuple[str, ...], apply: Callable[[dict[str, str]], str | None]):
    """If the URL carries values of `names` that this page did not write itself (a link just
    opened), hand them to `apply`, which sets the widgets' state or returns what is wrong.
    Returns that problem (kept until the next link) or None."""
    given = {name: st.query_params[name] for name in names if name in st.query_params}
    seen = st.session_state.setdefault(SEEN, {})
    if given and given != seen.get(page):
        seen[page] = given
        st.session_state[f"{SEEN}-{page}"] = apply(dict(given))
    return st.session_state.get(f"{SEEN}-{page}")


def keep_link(page: str, values: dict[str, object]) -> None:
    """Put the page's current values in the URL, so that copying it shares them."""
    text = {name: str(value) for name, value in values.items() if value is not None}
    st.session_state.setdefault(SEEN, {})[page] = text
    if st.query_params.to_dict() != text:
        st.query_params.from_dict(text)
