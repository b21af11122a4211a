"""The review's Markdown export: text that stays inside its table cells."""

from django import template

from incidents.after.review import cell

register = template.Library()


@register.filter
def md_cell(value: object) -> str:
    """Text kept inside one Markdown table cell: one line, pipes escaped."""
    return cell(str(value or ""))
