"""Sample-data generator: a B2B SaaS business across the six raw sources, with ground truth.

`python -m tools.sample_data --accounts N --seed S --out DIR [--period 1|2]` writes every
raw-contract table (`orchestration.io.contract.RAW_TABLES`) as CSV under `DIR/<table>/` and
the truth under `DIR/_truth/` (never loaded; see docs/interfaces.md).

How it is built, and why:

- Companies are generated in fixed chunks of `CHUNK_ACCOUNTS`; every chunk has its own random
  generators seeded from (seed, chunk, stream), so output depends only on seed, account count
  and period, and one chunk is in memory at a time (100,000 accounts stream to disk). Each table
  gets one file per chunk: `<table>_p<period>_<NNN>.csv`.
- Company identity (ids, names, emails, archetype, base behaviour) comes from period-independent
  streams, so period 2 has the same ids and emails; behaviour draws come from a period stream.
- Each company follows one of six archetypes that differ on several attributes at once (value,
  tenure, activity, breadth, trend, recency, email engagement, tickets, NPS). Per-company
  behaviour is a day-by-company activity matrix, expanded to events with numpy (no per-event
  Python loops).
- Time: period 1 covers 2025-01-01..2025-12-31, period 2 the same 365 days shifted by 90 days.
  The reference date is the window's last day minus 90 days; outcomes (churn, expansion, future
  revenue) are planted in the 90 days after it. In period 2 about 15% of companies migrate to
  another archetype, behaving as the new one for the last 180 days of the window. Creation dates
  are calendar-fixed across periods, except that a company still `new_ramping` in period 2 is
  re-anchored to the later window (otherwise it could not still be new).
- Capture defects (tracking rename at `TRACKING_CUTOVER`, duplicate deliveries, mixed UTC offsets,
  email case/whitespace, duplicate CRM accounts, shared inboxes) are part of normal rows; planted
  malformed rows (~0.5%) are listed in `_truth/malformed.csv` with file, 1-based line and kind.

Truth files (`_truth/`): `identifiers.csv` lists every id and every normalised email that occurs
in the data with its company; an outsourced accountant's inbox is used by several companies and
so appears once per company. `companies.csv` holds the archetype at the period's reference date
(in period 2 the archetype after migration) and the outcomes planted after it. In
`malformed.csv`, `file` is the file name inside `<table>/` and `line` counts the header as line 1;
for `duplicate_key` the listed line is the second, conflicting row. Generate each period into
its own directory: the truth files are per run.

Modules, one concern each: `vocabulary` (archetypes, parameters, names, code lists), `timeline`
(period window and reference date), `columns` (vectorised column builders), `population`
(companies and identities), `behaviour` (activity, migrations, outcome days), `companies` (CRM
and billing tables), `events` (product, support, email, survey and consent tables), `defects`
(planted malformed rows and duplicates), `truth` (ground truth), `chunk` (one chunk in memory),
`writer` (files and the run), `cli` (command line).
"""

from tools.sample_data.cli import main
from tools.sample_data.timeline import TRACKING_CUTOVER
from tools.sample_data.vocabulary import ARCHETYPES, EVENT_TAXONOMY
from tools.sample_data.writer import generate

__all__ = ["ARCHETYPES", "EVENT_TAXONOMY", "TRACKING_CUTOVER", "generate", "main"]
