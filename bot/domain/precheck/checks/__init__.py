"""One module per checklist reason; each exposes ``check(draft: Draft) -> Finding | None``."""

from . import abbreviations, bureaucratese, no_date, no_evidence, no_merits, personal_data, redirect, spelling

# The order findings are reported in: the answer's substance first, then its form.
ALL = (no_merits, no_date, no_evidence, redirect, personal_data, bureaucratese, abbreviations, spelling)
