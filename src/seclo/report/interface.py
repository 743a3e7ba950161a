"""What a report is made of: sections, each rendering its own HTML fragment.

A section escapes every piece of user text it puts into its fragment (seclo.report.html.esc); the page around
it (seclo.report.html.render_page) adds the style sheet, the table of contents and the heading.
"""

from __future__ import annotations

import html
from abc import ABC, abstractmethod

__all__ = ["Section"]


class Section(ABC):
    """One part of a report, with a heading and an anchor for the table of contents.

    Attributes:
        anchor: the element id, unique within the page (letters, digits, - and _).
        title: the heading, plain text (escaped by the page).
    """

    anchor: str
    title: str

    def heading(self) -> str:
        """The heading as HTML: the escaped title; a section may add a badge beside it."""
        return html.escape(self.title)

    @abstractmethod
    def html(self) -> str:
        """The section's body as an HTML fragment (below its heading), with all user text escaped."""
