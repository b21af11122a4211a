"""``{{ entry|entry_text }}``: a system timeline entry or paging event in the reader's
language (``incidents.entry_texts``); people's own words as they wrote them."""

from __future__ import annotations

from django import template

from incidents import entry_texts

register = template.Library()


@register.filter
def entry_text(item: entry_texts.Rendered) -> str:
    return entry_texts.render(item)
