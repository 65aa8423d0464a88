"""Dutch municipalities by CBS code: the one shape (`GM` + four digits) and the names Kracht knows.

The names cover the municipalities the demo and the dashboards' labels use; an unknown but
well-formed code is still valid everywhere and is shown as the code itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

MunicipalityCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^GM\d{4}$")]
CODE_PATTERN = r"^GM\d{4}\Z"

MUNICIPALITIES: dict[str, str] = {
    "GM0014": "Groningen", "GM0034": "Almere", "GM0080": "Leeuwarden", "GM0150": "Deventer",
    "GM0153": "Enschede", "GM0193": "Zwolle", "GM0200": "Apeldoorn", "GM0202": "Arnhem",
    "GM0268": "Nijmegen", "GM0307": "Amersfoort", "GM0344": "Utrecht", "GM0363": "Amsterdam",
    "GM0392": "Haarlem", "GM0503": "Delft", "GM0518": "'s-Gravenhage", "GM0546": "Leiden",
    "GM0599": "Rotterdam", "GM0758": "Breda", "GM0772": "Eindhoven", "GM0796": "'s-Hertogenbosch",
    "GM0855": "Tilburg", "GM0935": "Maastricht",
}


def municipality_label(code: str | None) -> str:
    """`GM0344` -> `Utrecht`; a code without a known name stays the code; none is `onbekend`."""
    if not code:
        return "onbekend"
    return MUNICIPALITIES.get(code, code)
