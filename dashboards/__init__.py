"""The board's dashboards: Voilà notebooks over `queries` (SQL aggregates) and `figures` (Plotly)."""

import sys

# Plotly imports nbformat, whose jsonschema builds an Earley parser for RFC 3987 IRIs when it is imported: 2.7 s
# of every dashboard kernel's start on these machines. Nothing here validates IRIs, so that optional checker
# stays out (jsonschema skips it when the import fails).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
