"""Does every decimal number a lecture's prose quotes come from the lecture's own run?

A number typed by hand into a markdown cell drifts from the output it describes as soon as the
lecture changes. The rule (the lecture contract: "no number in the prose is typed by hand"):
a decimal number quoted in a lecture's markdown, in prose or in inline math, must be

- printed near the sentence: by one of the NEAR code cells before or after the markdown cell (the
  cell the prose refers to), as written or rounded to fewer decimals ("about 0.99" for a printed
  0.9990); or
- written in one of its code cells: a constant of the set-up (``eps = 0.05``) or a value that an
  ``assert`` checks; or
- an exact constant: the global list below, or the lecture's own short list with a reason.

A percentage in prose ("a 5% error", "27% of the samples") follows the same rule, as the percentage
or as the fraction it stands for (0.05, 0.27). Other numbers without a decimal point (counts,
dimensions, years), numbers inside inline code and code blocks, in link targets, and in the
references section are not checked. The test reads the committed
notebooks only (no execution), so it is in the fast tier.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
LECTURES = sorted((REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))
NEAR = 3  # a quoted result must be printed by one of this many code cells on either side

# Exact constants any lecture may write without printing them.
GLOBAL_CONSTANTS = {
    "0.5": "1/2",
    "0.25": "1/4",
    "0.75": "3/4",
    "0.6931": "log 2, as the explorers print it",
    "0.693": "log 2",
    "1.4427": "1 / log 2 (bits per nat)",
    "3.14": "pi",
    "3.1416": "pi",
    "2.718": "e",
}

# Per lecture: constants that are neither printed nor written in a code cell, each with its reason,
# e.g. "06_flows.ipynb": {"0.05": "the noise of the library's two-moons data (its default)"}.
ALLOWED: dict[str, dict[str, str]] = {}

# A decimal number not part of a longer dotted token (a version "2.13.0", a section "4.7.1").
NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+)(?:[eE][+-]?\d+)?(?![\w]|\.\d)")
# What is not prose: fenced code, inline code, display math is kept (it may quote results too),
# link targets, HTML comments.
FENCED = re.compile(r"```.*?```", re.S)
INLINE_CODE = re.compile(r"`[^`]*`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
REFERENCES = re.compile(r"^#{1,6}\s*References\b.*", re.S | re.M)


def prose_of(markdown: str) -> str:
    """The markdown a reader takes for statements: code, link targets and references removed."""
    for pattern in (FENCED, HTML_COMMENT, INLINE_CODE, LINK_TARGET, REFERENCES):
        markdown = pattern.sub(" ", markdown)
    return markdown


def numbers_in(text: str) -> list[str]:
    return [m.group(1) for m in NUMBER.finditer(text)]


PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)


def percentages_in(text: str) -> list[str]:
    """Percentages quoted in prose (outside math, where % is not a percent sign), as written."""
    return [m.group(1) for m in PERCENT.finditer(MATH.sub(" ", text))]


def as_fraction(percent: str) -> str:
    """'27' -> '0.27', '5' -> '0.05', '2.5' -> '0.025'."""
    return format(Decimal(percent).scaleb(-2).normalize(), "f")


def output_text(cell) -> str:
    """Every text a code cell's committed outputs show (streams, text/plain, html, markdown, latex)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for mime in ("text/plain", "text/html", "text/markdown", "text/latex"):
            value = out.get("data", {}).get(mime)
            if value:
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


# Scientific notation in outputs ("3.0e-11") is kept whole, so its mantissa is not taken for a result.
OUTPUT_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w]|\.\d)")


def printed_values(text: str) -> list[str]:
    return [m.group(1) for m in OUTPUT_NUMBER.finditer(text)]


def rounds_to(printed: str, quoted: str) -> bool:
    """Whether the printed number, rounded to the quoted number's decimals, is the quoted one."""
    try:
        value = Decimal(printed)
    except ArithmeticError:
        return False
    decimals = len(quoted.split(".")[1])
    if "." in printed and "e" not in printed.lower() and len(printed.split(".")[1]) < decimals:
        return False  # the prose may not be more precise than the output
    step = Decimal(1).scaleb(-decimals)
    return any(value.quantize(step, rounding=mode) == Decimal(quoted) for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN))


def unsupported_numbers(path: Path) -> list[tuple[int, str]]:
    """(markdown cell index, number) for every quoted decimal the notebook does not back."""
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    written = {n for c in code_cells for n in numbers_in(c.source)}
    allowed = set(GLOBAL_CONSTANTS) | set(ALLOWED.get(path.name, {}))
    bad = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        before = [c for c in nb.cells[:index] if c.cell_type == "code"][-NEAR:]
        after = [c for c in nb.cells[index + 1:] if c.cell_type == "code"][:NEAR]
        printed = [v for c in before + after for v in printed_values(output_text(c))]
        prose = prose_of(cell.source)
        for number in numbers_in(prose):
            if not backed(number, written, allowed, printed):
                bad.append((index, number))
        for percent in percentages_in(prose):
            fraction = as_fraction(percent)
            if "." in fraction and backed(fraction, written, allowed, printed):
                continue
            if "." in percent and backed(percent, written, allowed, printed):
                continue
            if any(Decimal(value) == Decimal(percent) for value in printed + sorted(written) if _is_number(value)):
                continue
            bad.append((index, percent + "%"))
    return bad


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def backed(number: str, written: set[str], allowed: set[str], printed: list[str]) -> bool:
    """Whether a quoted decimal is an allowed constant, written in the code, or a printed result."""
    if number in allowed or any(Decimal(number) == Decimal(w) for w in written):
        return True
    return any(rounds_to(value, number) for value in printed)


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_every_decimal_in_the_prose_is_printed_or_written_in_the_code(path):
    bad = unsupported_numbers(path)
    assert not bad, (
        f"{path.name}: markdown quotes numbers that no output prints and no code cell writes "
        f"(cell index, number): {bad}. Print the number in the cell the prose refers to, check it with "
        f"an assert there, or, for an exact constant, list it in ALLOWED with its reason.")


# The rule itself, on small cases.

def test_numbers_in_code_links_and_references_are_not_prose():
    text = ("We use `lr=0.02` and [a link](http://x.org/v1.5) and 0.3.\n```\nx = 7.5\n```\n"
            "## References\n- A paper, vol. 4.2")
    assert numbers_in(prose_of(text)) == ["0.3"]


def test_versions_and_section_numbers_are_not_decimals():
    assert numbers_in("PyTorch 2.13.0, section 4.7.1, but 0.89 and $x = 1.25$") == ["0.89", "1.25"]


def test_a_quoted_number_may_round_a_printed_one_but_not_add_digits():
    assert rounds_to("0.9990", "0.999") and rounds_to("0.9990", "1.00") and rounds_to("0.8925", "0.89")
    assert not rounds_to("0.89", "0.890") and not rounds_to("0.8925", "0.99")
    assert rounds_to("3.0e-11", "0.00")


def test_percentages_are_checked_as_percentages_or_fractions():
    assert percentages_in("a 5% error, $50\\%$ in math, and 2.5 % more") == ["5", "2.5"]
    assert as_fraction("27") == "0.27" and as_fraction("5") == "0.05" and as_fraction("100") == "1"
