"""``SanitizeStudentMarkdown``: no ``<script>`` from a student's markdown in anyone's feedback page."""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

_TAGS = ["a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5",
         "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
         "table", "tbody", "td", "th", "thead", "tr", "u", "ul"]
_ATTRIBUTES = {"*": ["class", "id", "title"], "a": ["href"], "img": ["src", "alt", "width", "height"]}


class SanitizeStudentMarkdown(Preprocessor):
    """Render the student's own markdown cells to HTML and keep only harmless tags and attributes.

    nbgrader's feedback template renders markdown without sanitizing it (outputs are sanitized by
    ``HTMLExporter.sanitize_html``); a ``<script>`` in a student's markdown cell would run in the
    browser of whoever opens the page. Cells locked by nbgrader are the instructor's and stay as
    they are. The cell's source becomes the sanitized HTML, which the template's own markdown
    rendering passes through unchanged.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "markdown" or meta.get("locked") or meta.get("grade") or meta.get("task"):
            return cell, resources
        import bleach
        from nbconvert.filters import markdown2html

        cell.source = bleach.clean(markdown2html(cell.source), tags=_TAGS, attributes=_ATTRIBUTES,
                                   protocols=["http", "https", "mailto", "data"])
        cell.pop("attachments", None)
        return cell, resources
