"""A corpus of malformed and edge-case landing files, each with the outcome ingestion must give.

Every case is one file (small, so the whole corpus loads in seconds) with what must become of
it: loaded with N rows, some rows quarantined with a reason containing a phrase, rejected with
an error containing a phrase, or left waiting for a later run. Row values start with the case's
kind, so no two files share content (a shared content hash would be a skipped duplicate).
"""

from __future__ import annotations

import codecs
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ACCOUNTS = "crm_accounts"
HEADER = "account_id,account_name,created_at"
BASE = "2024-01-01T10:00:00Z"


@dataclass(frozen=True)
class Expected:
    """What must become of a file: status, rows loaded, quarantined rows per reason phrase."""

    status: str  # loaded / rejected / waiting
    loaded: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # a phrase the rejection reason contains


@dataclass(frozen=True)
class BadInput:
    kind: str
    table: str
    name: str
    content: bytes
    expect: Expected

    @property
    def source(self) -> str:
        """How the warehouse names the file (relative to the landing folder)."""
        return f"{self.table}/{self.name}"


def loaded(n: int, quarantined: dict[str, int] | None = None) -> Expected:
    """Loaded n rows, and quarantined rows per phrase their reason contains."""
    return Expected("loaded", n, quarantined or {})


def _rows(kind: str, n: int, created: str = BASE, sep: str = ",") -> str:
    return "".join(f"{kind}-{i}{sep}{kind} {i}{sep}{created}\n" for i in range(n))


def _csv(body: str, header: str = HEADER) -> bytes:
    return (header + "\n" + body).encode()


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _case(kind, content, expect, name=None, table=ACCOUNTS) -> BadInput:
    return BadInput(kind, table, name or f"{kind}.csv", content, expect)


def corpus() -> list[BadInput]:
    """Every case; file names are unique per table."""
    cases = [
        # delimiters
        _case(
            "semicolon", _csv(_rows("semicolon", 2, sep=";"), HEADER.replace(",", ";")), loaded(2)
        ),
        _case("tab", _csv(_rows("tab", 3, sep="\t"), HEADER.replace(",", "\t")), loaded(3)),
        _case("pipe", _csv(_rows("pipe", 2, sep="|"), HEADER.replace(",", "|")), loaded(2)),
        # encodings
        _case(
            "latin1",
            (HEADER + "\nlatin1-0,Caf\xe9,2024-01-01\nlatin1-1,Plain,2024-01-01\n").encode(
                "latin-1"
            ),
            loaded(1, {"malformed CSV line: invalid encoding": 1}),
        ),
        _case(
            "utf16_bom",
            codecs.BOM_UTF16_LE
            + (HEADER + "\nutf16-0,Café,2024-01-01\nutf16-1,Ünïcode,2024-01-01\n").encode(
                "utf-16-le"
            ),
            loaded(2),
        ),
        _case(
            "utf16_big_endian",
            codecs.BOM_UTF16_BE + (HEADER + "\nutf16be-0,Zoë,2024-01-01\n").encode("utf-16-be"),
            loaded(1),
        ),
        _case("utf8_bom", codecs.BOM_UTF8 + _csv(_rows("utf8bom", 2)), loaded(2)),
        # quoting
        _case(
            "unbalanced_quote",
            _csv('unbal-0,"Open,2024-01-01\nunbal-1,Fine,2024-01-01\n'),
            loaded(2),  # no consistent quoting: the sniffer reads the stray quote as text
        ),
        _case(
            "embedded_newline",
            _csv('nl-0,"Two\nlines",2024-01-01\nnl-1,One,2024-01-01\n'),
            loaded(2),
        ),
        _case("quotes_in_quotes", _csv('qq-0,"He said ""hi""",2024-01-01\n'), loaded(1)),
        _case("crlf", _csv(_rows("crlf", 3)).replace(b"\n", b"\r\n"), loaded(3)),
        _case("blank_lines", _csv("blank-0,A,2024-01-01\n\n\nblank-1,B,2024-01-01\n"), loaded(2)),
        _case(
            "whitespace_values",
            _csv("   ,Blank id,2024-01-01\nws-1,Blank date,  \nws-2,  padded  ,  2024-01-01  \n"),
            loaded(
                1,
                {"missing required value: account_id": 1, "missing required value: created_at": 1},
            ),
        ),
        # time zones and offsets
        _case(
            "named_zone_then_naive",
            _csv(
                "zone-0,NY,2025-01-02 03:04:05 America/New_York\n"
                + "".join(f"zone-{i},naive,2025-01-02 03:04:05\n" for i in range(1, 3000))
            ),
            loaded(3000),
        ),
        _case(
            "zone_abbreviations",
            _csv(
                "abbr-0,E,2025-01-02 03:04:05 EST\n"
                "abbr-1,C,2025-01-02 03:04:05 CET\n"
                "abbr-2,N,2025-01-02 03:04:05\n"
            ),
            loaded(1, {"ambiguous time zone abbreviation": 2}),
        ),
        _case(
            "unknown_zone",
            _csv("mars-0,M,2025-01-02 03:04:05 Mars/Olympus_Mons\n"),
            loaded(0, {"unknown time zone": 1}),
        ),
        _case(
            "offsets",
            _csv(
                "off-0,a,2024-06-01T12:00:00+02:00\noff-1,b,2024-06-01T10:00Z\n"
                "off-2,c,2024-06-01 15:30:00 +0530\noff-3,d,2024-06-01T07:00:00-03\n"
                "off-4,e,2024-06-01 10:00:00 UTC\n"
            ),
            loaded(5),
        ),
        _case(
            "bad_offset",
            _csv("badoff-0,a,2024-06-01T12:00:00+25:00\n"),
            loaded(0, {"unknown time zone or UTC offset": 1}),
        ),
        _case(
            "implausible_dates",
            _csv(
                "old-0,a,0001-01-01\nold-1,b,infinity\n"
                "old-2,c,-infinity\nold-3,d,epoch\nold-4,e,1969-12-31\n"
                "old-5,f,1970-01-01\n"
            ),
            loaded(1, {"implausible timestamp": 5}),
        ),
        _case(
            "future_timestamp",
            _csv("fut-0,a,2999-01-01\nfut-1,b,2024-01-01\n"),
            loaded(1, {"timestamp in the future": 1}),
        ),
        _case(
            "twelve_hour_clock",
            _csv("pm-0,a,2024-01-01 10:00 PM\npm-1,b,2024-01-01 10:00 p.m.\n"),
            loaded(0, {"not a timestamp": 2}),
        ),
        _case(
            "zone_text_not_a_zone",
            _csv("junk-0,a,2024-01-01 10:00 somewhere\njunk-1,b,2024-01-01 10:00 Utc+2\n"),
            loaded(0, {"unknown time zone or UTC offset": 2}),
        ),
        _case(
            "not_a_date",
            _csv("nad-0,a,2024-13-45\nnad-1,b,yesterday\n"),
            loaded(0, {"not a timestamp": 2}),
        ),
        # column names
        _case(
            "rowid_column",
            _csv("rowid-0,x,9,2024-01-01\n", "account_id,account_name,rowid,created_at"),
            loaded(1),
        ),
        _case(
            "reserved_words",
            _csv("kw-0,1,2,3,2024-01-01\n", "account_id,select,order,group,created_at"),
            loaded(1),
        ),
        _case(
            "odd_names",
            _csv(
                "odd-0,1,2,3,4,2024-01-01\n", 'account_id,"we""ird",with space,dot.name,,created_at'
            ),
            loaded(1),
        ),
        _case(
            "unicode_names",
            _csv("uni-0,1,2,🙂,2024-01-01\n", "account_id,名前,Größe,emoji,created_at"),
            loaded(1),
        ),
        _case("header_case", _csv("case-0,2024-01-01\n", " ACCOUNT_ID , Created_At"), loaded(1)),
        _case(
            "duplicate_contract_header",
            _csv("dup-0,dup-0,2024-01-01\n", "account_id,account_id,created_at"),
            Expected("rejected", error="account_id appears more than once"),
        ),
        _case(
            "case_duplicate_contract_header",
            _csv("cdup-0,x,2024-01-01\n", "account_id,Account_ID,created_at"),
            Expected("rejected", error="account_id appears more than once"),
        ),
        _case(
            "duplicate_extra_header",
            _csv("dupx-0,a,b,2024-01-01\n", "account_id,note,note,created_at"),
            loaded(1),
        ),
        _case(
            "missing_required_column",
            _csv("miss-0,Name\n", "account_id,account_name"),
            Expected("rejected", error="missing required column created_at"),
        ),
        _case(
            "extra_columns",
            _csv("extra-0,a,2024-01-01,ios,42\n", HEADER + ",device,score"),
            loaded(1),
        ),
        # shape
        _case("empty_file", b"", Expected("rejected", error="the file is empty")),
        _case("header_only", (HEADER + "\n").encode(), loaded(0)),
        _case(
            "long_line",
            _csv(f"long-0,{'x' * 3_000_000},2024-01-01\nlong-1,s,2024-01-01\n"),
            loaded(2),
        ),
        _case(
            "truncated_mid_line",
            _csv("trunc-0,a,2024-01-01\ntrunc-1,Trunc"),
            loaded(1, {"malformed CSV line: missing columns": 1}),
        ),
        _case(
            "too_many_fields",
            _csv("many-0,a,2024-01-01,surplus\nmany-1,b,2024-01-01\n"),
            loaded(1, {"malformed CSV line: too many columns": 1}),
        ),
        # control characters
        _case(
            "nul_byte",
            _csv("nul-0,x\x00y,2024-01-01\nnul-1,ok,2024-01-01\n"),
            loaded(1, {"control character in value: account_name": 1}),
        ),
        _case(
            "bell_character",
            _csv("bell-0,x\x07y,2024-01-01\nbell-1,\tok,2024-01-01\n"),
            loaded(1, {"control character in value": 1}),
        ),
        # keys and values
        _case(
            "duplicate_keys",
            _csv(
                "key-0,a,2024-01-01\nkey-0,b,2024-01-01\nkey-1,c,2024-01-01\nkey-1,c,2024-01-01\n"
            ),
            loaded(3, {"duplicate primary key": 1}),
        ),
        _case("unicode_values", _csv("univ-0,Ærøskøbing 🙂 東京,2024-01-01\n"), loaded(1)),
        _case(
            "negative_amounts",
            (
                b"invoice_id,billing_customer_id,amount,issued_at\n"
                b"neg-0,B1,-10.5,2024-01-01\nneg-1,B1,NaN,2024-01-01\n"
            ),
            loaded(1, {"not a number": 1}),
            table="billing_invoices",
        ),
        _case(
            "negative_mrr",
            (
                b"subscription_id,billing_customer_id,mrr,started_at\n"
                b"negm-0,B1,-10,2024-01-01\nnegm-1,B1,10,2024-01-01\n"
            ),
            loaded(1, {"negative value: mrr": 1}),
            table="billing_subscriptions",
        ),
        _case(
            "wide_file",
            (
                "user_id,email,created_at,"
                + ",".join(f"c{i}" for i in range(300))
                + "\n"
                + "wide-0,a@x.com,2024-01-01,"
                + ",".join(str(i) for i in range(300))
                + "\n"
            ).encode(),
            loaded(1),
            table="product_users",
        ),
        # glob characters in names: each file loads only its own rows
        _case("glob_star", _csv(_rows("star", 1)), loaded(1), name="acc*.csv"),
        _case("glob_question", _csv(_rows("question", 2)), loaded(2), name="acc?.csv"),
        _case("glob_bracket", _csv(_rows("bracket", 3)), loaded(3), name="acc[1].csv"),
        _case("glob_sibling", _csv(_rows("sibling", 4)), loaded(4), name="accX.csv"),
        _case(
            "quote_and_space_name", _csv(_rows("qname", 1)), loaded(1), name="o'brien accounts.csv"
        ),
        # still being written
        _case("part_suffix", _csv(_rows("part", 1)), Expected("waiting"), name="a.csv.part"),
        _case("tmp_suffix", _csv(_rows("tmp", 1)), Expected("waiting"), name="a.csv.tmp"),
        _case("crdownload", _csv(_rows("crd", 1)), Expected("waiting"), name="a.csv.crdownload"),
        _case("tilde_suffix", _csv(_rows("tilde", 1)), Expected("waiting"), name="a.csv~"),
        _case("dot_prefix", _csv(_rows("dot", 1)), Expected("waiting"), name=".a.csv"),
        _case("office_lock", _csv(_rows("lock", 1)), Expected("waiting"), name="~$a.csv"),
        # other formats
        _case(
            "gzip_csv",
            gzip.compress(_csv(_rows("gz", 2)), mtime=0),
            loaded(2),
            name="gzip_csv.csv.gz",
        ),
        _case(
            "parquet_wrong_types",
            _parquet(
                pd.DataFrame(
                    {
                        "account_id": [1, 2, 3],
                        "employee_count": ["many", "5", "6"],
                        "created_at": [1704067200, 1704067200, 1704067200],
                    }
                )
            ),
            loaded(0, {"not an integer": 1, "not a timestamp": 2}),
            name="wrong_types.parquet",
        ),
        _case(
            "parquet_timestamps",
            _parquet(
                pd.DataFrame(
                    {
                        "account_id": ["pq-0", "pq-1"],
                        "created_at": pd.to_datetime(
                            ["2024-01-01 10:00", "2024-01-02 10:00"], utc=True
                        ),
                    }
                )
            ),
            loaded(2),
            name="timestamps.parquet",
        ),
        _case(
            "parquet_corrupt",
            b"PAR1 this is not really parquet PAR1",
            Expected("rejected", error="unreadable file"),
            name="corrupt.parquet",
        ),
    ]
    return cases


def write_corpus(landing: Path, cases: list[BadInput]) -> None:
    for case in cases:
        path = landing / case.table / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.content)
