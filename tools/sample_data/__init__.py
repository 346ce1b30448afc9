"""Sample-data generator: a B2B SaaS business across the six raw sources, with ground truth.

`python -m tools.sample_data --accounts N --seed S --out DIR [--period 1|2]` writes every
raw-contract table (`orchestration.io.contract.RAW_TABLES`) as CSV under `DIR/<table>/` and
the truth under `DIR/_truth/` (never loaded; see docs/interfaces.md).

`python -m tools.sample_data --accounts N --seed S --out DIR --periods K --period-days D`
(`generate_history`) writes a continuing history instead: `DIR/period_00/` is the initial history
(byte-identical to `--period 1` for the same seed), then `DIR/period_01/` .. `DIR/period_K/` each
hold only what happened in the D days after the previous one (period k covers
[2026-01-01 + (k - 1) * D days, 2026-01-01 + k * D days); the last must end by 2026-11-30 and
before now). Each period folder is a landing folder with its own `_truth/`; file names
(`<table>_h<NN>_<chunk>.csv`) and ids are unique across periods, so every period's files can be
dropped into one landing folder. A history period holds: the sign-ups of the period (~2% of the
initial accounts per 30 days, `new_ramping`: CRM account, attributes, contacts, billing
customer, subscription, users, consent grants) and everyone's new activity (events, tickets,
campaign emails every 20 days, NPS every 91 days, CSAT, consent grants and revocations,
invoices); churn (every open subscription re-delivered with the same subscription_id,
`ended_at` and status `canceled`); expansion (the base subscription re-delivered with a higher
MRR and plan); and the planted migrations (`history.MIGRATION_PERIODS`: ~10% of the active
companies at the start of periods 2 and 4, disjoint sets): the base subscription re-delivered as
`changed` and a new one at the new MRR, and the new archetype's behaviour from then on. Its
`_truth/companies.csv` has the archetype at the period's end, the period's revenue,
churned/expanded in the period, active at its end and the period that created the company;
`migrations.csv` lists every company active at the period start (moved true for the planted
ones); `identifiers.csv` the ids and emails that appear in the period; `malformed.csv` the planted
malformed rows of its files (same rates as a period run).

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
`writer` (files and the run), `history` (a chunk's state carried across history periods and the
changes planted in each), `history_tables` (one history period's tables), `history_writer` (the
history run), `cli` (command line).
"""

from tools.sample_data.cli import main
from tools.sample_data.history_writer import generate_history
from tools.sample_data.timeline import TRACKING_CUTOVER
from tools.sample_data.vocabulary import ARCHETYPES, EVENT_TAXONOMY
from tools.sample_data.writer import generate

__all__ = [
    "ARCHETYPES",
    "EVENT_TAXONOMY",
    "TRACKING_CUTOVER",
    "generate",
    "generate_history",
    "main",
]
