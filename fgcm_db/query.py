"""``fgcm-db sql``: ad hoc read-only queries, printed as a table or written as csv, json or parquet.

Three barriers keep a query from changing anything or reaching outside the database:

1. the statement is parsed twice, by sqlglot (duckdb dialect) and by DuckDB's own parser
   (``extract_statements`` and ``json_serialize_sql``), and refused unless it is exactly one
   SELECT / WITH / VALUES / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN statement that calls no function
   reading files, other databases or the environment (``read_csv``, ``glob``, ``query``, ...) and names
   no table that looks like a file path (DuckDB's replacement scans);
2. the database is opened read-only;
3. the connection is locked down: ``enable_external_access = false`` (no file system, network or
   extension access from SQL), no Python replacement scans, no extension auto-loading, and
   ``lock_configuration = true`` so that no later statement can undo these settings.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import decimal
import json
import logging
import math
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from .db import Database
from .errors import FgcmDbError

FORMATS = ("table", "csv", "json", "parquet")

#: Rows per Arrow record batch when streaming a result (bounded memory for any result size).
BATCH_ROWS = 65_536

#: Table functions a query may use: generators and catalog views, nothing that touches files.
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree",
    "duckdb_tables", "duckdb_columns", "duckdb_views", "duckdb_schemas", "duckdb_types",
    "duckdb_functions", "duckdb_constraints", "duckdb_indexes", "duckdb_sequences",
    "duckdb_databases", "duckdb_keywords", "duckdb_settings",
    "pragma_table_info", "pragma_show", "pragma_version", "pragma_database_size",
})

#: Functions refused anywhere in a query (scalar or table): they read files, reach other databases,
#: run SQL given as a string (hiding it from the check), read the environment or change state.
DENIED_FUNCTIONS = frozenset({
    "glob", "sniff_csv", "query", "query_table", "getenv", "checkpoint", "force_checkpoint",
    "nextval", "setval", "st_read", "st_read_meta", "load_extension", "install_extension",
})
_DENIED_FUNCTION_RE = re.compile(
    r"^(read_|parquet_|iceberg_|delta_|sqlite_|postgres_|mysql_|odbc_|excel_|arrow_|duckdb_secrets)"
    r"|(_scan|_attach|_query|_read)$"
)

#: Statement kinds (sqlglot classes) that only read.
_READING_STATEMENTS = (
    exp.Select, exp.SetOperation, exp.Values, exp.Pivot, exp.Describe, exp.Show, exp.Summarize,
)
_READING_COMMANDS = {"SHOW", "DESCRIBE", "SUMMARIZE", "EXPLAIN"}

#: sqlglot node classes that write, change settings or reach outside; refused anywhere in the tree.
_FORBIDDEN_NODES = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Copy", "Attach", "Detach",
        "Install", "Pragma", "Set", "Use", "Into", "TruncateTable", "Transaction", "Commit",
        "Rollback", "LoadData", "Cache", "Uncache", "Refresh", "Analyze", "Export", "Command",
    )
    if hasattr(exp, name)
)

_GAP = r"(?:\s|/\*.*?\*/|--[^\n]*(?:\n|$))*"
_EXPLAIN_RE = re.compile(rf"^{_GAP}EXPLAIN\b{_GAP}(?:ANALY[SZ]E\b)?", re.IGNORECASE | re.DOTALL)

#: A table name with one of these characters is a file path to DuckDB (a "replacement scan").
_PATH_CHARS = set("./\\:*?~")

_HELP = "fgcm-db sql runs read-only queries on the database's tables (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)"


# --------------------------------------------------------------------------------------------
# The statement check
# --------------------------------------------------------------------------------------------
def _function_allowed(name: str) -> bool:
    name = name.lower()
    return name not in DENIED_FUNCTIONS and not _DENIED_FUNCTION_RE.search(name)


def _refuse(what: str) -> FgcmDbError:
    return FgcmDbError(f"refused: {what}; {_HELP}")


def _sqlglot_function_name(node: exp.Func) -> str:
    return str(node.name) if isinstance(node, exp.Anonymous) else node.sql_name()


def _check_sqlglot_tree(tree: exp.Expression) -> None:
    """Refuse writes, settings, file-reading functions and path-like table names in a parsed tree."""
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES) and node is not tree:
            raise _refuse(f"the query contains {node.key.upper()}")
        if isinstance(node, exp.Func) and not _function_allowed(_sqlglot_function_name(node)):
            raise _refuse(f"function {_sqlglot_function_name(node).lower()}() reads outside the database")
        if isinstance(node, exp.Table):
            target = node.this
            if isinstance(target, exp.Func):
                name = _sqlglot_function_name(target).lower()
                if name not in ALLOWED_TABLE_FUNCTIONS:
                    raise _refuse(f"table function {name}() is not allowed")
            else:
                name = node.name
                called = isinstance(node.parent, exp.Schema) and bool(node.parent.expressions)
                if called and name.lower() not in ALLOWED_TABLE_FUNCTIONS:  # DESCRIBE f(...) parses so
                    raise _refuse(f"table function {name.lower()}() is not allowed")
                if _PATH_CHARS & set(name):
                    raise _refuse(f"{name!r} is not a table of the database (file paths are not read)")


def _check_with_sqlglot(query: str) -> None:
    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "falling back to a Command" warnings are for us, not users
    try:
        statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        _raise_duckdb_verdict(query)
        first = (getattr(exc, "errors", None) or [{}])[0]
        where = f", line {first['line']} column {first['col']}" if "line" in first else ""
        reason = str(first.get("description") or str(exc).splitlines()[0]).split(" but got ")[0]
        raise FgcmDbError(
            f"fgcm-db cannot check this statement (sqlglot: {reason}{where}); write it in plainer SQL"
        ) from None
    finally:
        quiet.setLevel(level)
    if not statements:
        raise FgcmDbError("no SQL statement given (only comments?)")
    if len(statements) != 1:
        raise _refuse(f"{len(statements)} statements given; run one statement at a time")
    tree = statements[0]
    if isinstance(tree, exp.Command):
        keyword = str(tree.this).upper()
        if keyword not in _READING_COMMANDS:
            raise _refuse(f"{_first_word(query)} statements are not allowed")
        if keyword == "EXPLAIN":
            _check_with_sqlglot(_explained_statement(query))
        return
    if not isinstance(tree, _READING_STATEMENTS):
        raise _refuse(f"{_first_word(query)} statements are not allowed")
    _check_sqlglot_tree(tree)


def _first_word(query: str) -> str:
    """The statement's first keyword (after comments), for messages."""
    match = re.match(rf"{_GAP}([A-Za-z_]+)", query, re.DOTALL)
    return match.group(1).upper() if match else "such"


def _explained_statement(query: str) -> str:
    """The statement after ``EXPLAIN [ANALYZE]`` (comments in between are skipped)."""
    match = _EXPLAIN_RE.match(query)
    inner = query[match.end():] if match else ""
    if not inner.strip():
        raise FgcmDbError("EXPLAIN needs a statement to explain, e.g. EXPLAIN SELECT count(*) FROM observations")
    return inner


def _parser() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB used only to parse statements (no file, network or extension access)."""
    return duckdb.connect(":memory:", config={
        "enable_external_access": False, "autoinstall_known_extensions": False,
    })


def _raise_duckdb_verdict(query: str) -> None:
    """For a statement sqlglot cannot parse: raise DuckDB's syntax error, or refuse a non-query."""
    with _parser() as con:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise FgcmDbError(f"SQL syntax error: {one_line(exc)}") from None
    if any(s.type not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN) for s in statements):
        raise _refuse(f"{_first_word(query)} statements are not allowed")


#: Query nodes of DuckDB's parse tree that only read (DML in a CTE shows as e.g. DELETE_QUERY_NODE).
_READING_QUERY_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"}


def _duckdb_ast_functions(node: Any, table_functions: set[str], functions: set[str], tables: set[str]) -> None:
    """Collect function and table names from DuckDB's JSON-serialised parse tree.

    Raises
    ------
    FgcmDbError
        On a query node that writes (a data-modifying CTE).
    """
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in _READING_QUERY_NODES:
            raise _refuse(f"the query contains {kind.removesuffix('_NODE').replace('_QUERY', '')}")
        if kind == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            table_functions.add(str(node["function"].get("function_name", "")).lower())
        if "function_name" in node:
            functions.add(str(node["function_name"]).lower())
        if kind in ("BASE_TABLE", "SHOW_REF") and isinstance(node.get("table_name"), str):
            tables.add(str(node["table_name"]))
        for value in node.values():
            _duckdb_ast_functions(value, table_functions, functions, tables)
    elif isinstance(node, list):
        for value in node:
            _duckdb_ast_functions(value, table_functions, functions, tables)


def _check_with_duckdb(query: str) -> None:
    """The same check with DuckDB's parser, which is the one that will run the statement."""
    with _parser() as con:
        try:
            statements = con.extract_statements(query)
        except duckdb.Error as exc:
            raise FgcmDbError(f"SQL syntax error: {one_line(exc)}") from None
        if len(statements) != 1:
            raise _refuse(f"{len(statements)} statements given; run one statement at a time")
        kind = statements[0].type
        if kind == duckdb.StatementType.EXPLAIN:
            _check_with_duckdb(_explained_statement(query))
            return
        if kind == duckdb.StatementType.MULTI:
            raise _refuse(
                "the statement runs several statements inside DuckDB (a PIVOT without IN list?): "
                "name the pivot values, e.g. PIVOT visits ON band IN ('g', 'r') USING count(*)"
            )
        if kind != duckdb.StatementType.SELECT:
            raise _refuse(f"{_first_word(query)} statements are not allowed")
        try:
            tree = json.loads(con.execute("SELECT json_serialize_sql($q)", {"q": query}).fetchone()[0])
        except duckdb.Error as exc:
            raise FgcmDbError(f"cannot check the statement with DuckDB's parser: {one_line(exc)}") from None
    if tree.get("error"):
        raise FgcmDbError(f"SQL error: {tree.get('error_message', 'DuckDB cannot parse the statement')}")
    table_functions: set[str] = set()
    functions: set[str] = set()
    tables: set[str] = set()
    _duckdb_ast_functions(tree, table_functions, functions, tables)
    refused_tables = sorted(table_functions - ALLOWED_TABLE_FUNCTIONS)
    if refused_tables:
        raise _refuse(f"table function {refused_tables[0]}() is not allowed")
    refused = sorted(f for f in functions if not _function_allowed(f))
    if refused:
        raise _refuse(f"function {refused[0]}() reads outside the database")
    paths = sorted(t for t in tables if _PATH_CHARS & set(t))
    if paths:
        raise _refuse(f"{paths[0]!r} is not a table of the database (file paths are not read)")


def check_read_only(query: str) -> None:
    """Refuse ``query`` unless it is one statement that only reads the database.

    Parameters
    ----------
    query : str
        The SQL text as the user typed it.

    Raises
    ------
    FgcmDbError
        On a syntax error, several statements, a statement that writes or changes settings, or a
        function or table reference that would read files, other databases or the environment.
    """
    if not query.strip():
        raise FgcmDbError("empty query; e.g. fgcm-db sql \"SELECT count(*) FROM observations\"")
    _check_with_sqlglot(query)
    _check_with_duckdb(query)


# --------------------------------------------------------------------------------------------
# Locked-down read-only connections (used by sql, export and info)
# --------------------------------------------------------------------------------------------
_LOCKDOWN = (
    "SET enable_progress_bar = false",
    "SET enable_external_access = false",
    "SET python_enable_replacements = false",
    "SET autoload_known_extensions = false",
    "SET autoinstall_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET lock_configuration = true",
)


def open_reader(db_path: str | Path, memory_limit: str | None = None) -> Database:
    """Open the database read-only, with external access disabled and the configuration locked.

    A writer holding the database makes this raise :class:`~fgcm_db.errors.DatabaseBusyError`
    (a one-line message); other readers do not block it.

    Parameters
    ----------
    db_path : str or Path
        The database file.
    memory_limit : str, optional
        DuckDB ``memory_limit`` (e.g. ``"1GB"``): caps its buffer cache, which otherwise grows with
        the data scanned (up to 80 % of the machine's memory by DuckDB's default).
    """
    db = Database(db_path, read_only=True)
    try:
        if memory_limit is not None:
            db.con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
        for statement in _LOCKDOWN:
            db.con.execute(statement)
    except BaseException:
        db.close()
        raise
    return db


def _checked_size(size: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", size):
        raise FgcmDbError(f"internal: memory limit {size!r} is not like '1GB'")
    return size


def one_line(exc: BaseException) -> str:
    """DuckDB's message without its ``LINE n:`` excerpt and caret, on one line."""
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("LINE ") or not line.strip():
            break
        kept.append(line.strip())
    return " ".join(kept) or type(exc).__name__


# --------------------------------------------------------------------------------------------
# Running and writing
# --------------------------------------------------------------------------------------------
def _batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    try:
        yield from reader
    except duckdb.Error as exc:
        raise FgcmDbError(f"query failed: {one_line(exc)}") from None


def run_sql(
    db_path: str | Path,
    query: str,
    fmt: str = "table",
    out: str | Path | None = None,
    max_rows: int = 50,
    stream: TextIO | None = None,
) -> int:
    """Check and run one read-only query; print or write its result.

    Parameters
    ----------
    db_path : str or Path
        The database (opened read-only).
    query : str
        One SELECT / WITH / VALUES / DESCRIBE / SHOW / SUMMARIZE / EXPLAIN statement.
    fmt : {"table", "csv", "json", "parquet"}
        ``table``: aligned columns fitted to the terminal width, at most ``max_rows`` rows, and a row
        count; ``csv``: header + rows; ``json``: an array of records (NaN and infinities become
        null); ``parquet``: zstd-compressed file, needs ``out``.
    out : str or Path, optional
        Write the result to this file instead of standard output.
    max_rows : int
        Rows shown in table format (0: all).
    stream : text stream, optional
        Where to print when ``out`` is not given (default: standard output).

    Returns
    -------
    int
        Number of result rows.
    """
    if fmt not in FORMATS:
        raise FgcmDbError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and out is None:
        raise FgcmDbError("--format parquet writes a file: give it with --out FILE")
    if max_rows < 0:
        raise FgcmDbError(f"--max-rows must be >= 0 (0 shows every row), got {max_rows}")
    if out is not None:
        _check_out(Path(out))
    check_read_only(query)
    with open_reader(db_path) as db:
        try:
            relation = db.con.sql(query)
        except duckdb.Error as exc:
            raise FgcmDbError(f"query failed: {one_line(exc)}") from None
        if relation is None:
            raise _refuse("the statement returns no result")
        try:
            reader = relation.to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as exc:
            raise FgcmDbError(f"query failed: {one_line(exc)}") from None
        if out is not None:
            return _write_file(fmt, reader, Path(out), max_rows)
        try:
            return _write(fmt, reader, stream or sys.stdout, max_rows)
        except pa.ArrowException as exc:
            raise _unwritable(fmt, exc) from None
        except BrokenPipeError:  # the reader of a pipe stopped early (`| head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


def _check_out(path: Path) -> None:
    if path.is_dir():
        raise FgcmDbError(f"--out {path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise FgcmDbError(f"--out {path}: directory {path.parent} does not exist")


def _write_file(fmt: str, reader: pa.RecordBatchReader, path: Path, max_rows: int) -> int:
    """Write to a temporary name beside ``path`` and rename it at the end (no partial files)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        try:
            if fmt == "parquet":
                rows = _write_parquet(reader, partial)
            else:
                with open(partial, "w", encoding="utf-8", newline="") as handle:
                    rows = _write(fmt, reader, handle, max_rows)
        except pa.ArrowException as exc:
            raise _unwritable(fmt, exc) from None
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _write(fmt: str, reader: pa.RecordBatchReader, handle: TextIO, max_rows: int) -> int:
    if fmt == "table":
        return _write_table(reader, handle, max_rows)
    if fmt == "csv":
        return _write_csv(reader, handle)
    return _write_json(reader, handle)


def _unwritable(fmt: str, exc: Exception) -> FgcmDbError:
    return FgcmDbError(
        f"cannot write this result as {fmt} ({str(exc).splitlines()[0]}): cast the column to text "
        "(column::VARCHAR) or use another --format"
    )


def _write_parquet(reader: pa.RecordBatchReader, path: Path) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(path, reader.schema, compression="zstd") as writer:
        for batch in _batches(reader):
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _nested_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if pa.types.is_nested(f.type)]


class _TextSink:
    """A binary, write-only file object that forwards UTF-8 text to a text stream."""

    def __init__(self, handle: TextIO):
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.closed = False

    def write(self, data: bytes) -> int:
        self.handle.write(self.decoder.decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.closed = True


def _write_csv(reader: pa.RecordBatchReader, handle: TextIO) -> int:
    import pyarrow.csv as pacsv

    nested = _nested_columns(reader.schema)
    if nested:
        raise FgcmDbError(
            f"column {nested[0]} is a list or struct, which csv cannot hold: use --format json or "
            f"parquet, or select it as text ({nested[0]}::VARCHAR)"
        )
    rows = 0
    sink = pa.PythonFile(_TextSink(handle), mode="w")
    with pacsv.CSVWriter(sink, reader.schema) as writer:
        for batch in _batches(reader):
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def _plain(value: Any) -> Any:
    """A JSON-ready copy of one Arrow value: NaN/inf -> None, bytes -> hex, others -> str."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _polars_writes(dtype: pa.DataType) -> bool:
    """Whether polars writes this type to JSON as :func:`_plain` would (numbers, text, bools)."""
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return _polars_writes(dtype.value_type)
    if pa.types.is_struct(dtype):
        return all(_polars_writes(dtype.field(i).type) for i in range(dtype.num_fields))
    return (
        pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_boolean(dtype)
        or pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_null(dtype)
    ) and not isinstance(dtype, pa.ExtensionType)


def _write_json(reader: pa.RecordBatchReader, handle: TextIO) -> int:
    """An array of records; polars writes plain batches (fast), Python the others."""
    import polars as pl

    fast = all(_polars_writes(f.type) for f in reader.schema)
    rows = 0
    handle.write("[")
    for batch in _batches(reader):
        if batch.num_rows == 0:
            continue
        if fast:
            text = pl.from_arrow(pa.Table.from_batches([batch])).write_json()[1:-1]
        else:
            text = ",".join(json.dumps(_plain(r), ensure_ascii=False) for r in batch.to_pylist())
        handle.write(("," if rows else "") + text)
        rows += batch.num_rows
    handle.write("]\n")
    return rows


# --------------------------------------------------------------------------------------------
# Table format
# --------------------------------------------------------------------------------------------
#: Widest a single cell may be in table format before it is cut with an ellipsis.
MAX_CELL_WIDTH = 40
#: Text columns are narrowed down to this width before columns are left out; numbers are never cut.
MIN_TEXT_WIDTH = 12
#: Headers are cut to no fewer characters than this.
MIN_HEADER_WIDTH = 8


def format_value(value: Any) -> str:
    """One cell's text: NULL, floats with 10 significant digits, one line."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value).replace("\r", "").replace("\n", "\u21b5")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def format_table(
    names: list[str], numeric: list[bool], rows: list[tuple], total: int, width: int
) -> str:
    """Aligned text table fitted to ``width`` characters, with a row-count footer.

    Cells wider than :data:`MAX_CELL_WIDTH` are cut with an ellipsis. When the columns do not fit,
    text columns are narrowed (widest first) down to :data:`MIN_TEXT_WIDTH`, numeric columns down to
    their widest value (numbers are never cut), headers down to :data:`MIN_HEADER_WIDTH`, and then
    the rightmost columns are left out; the footer names them.

    Parameters
    ----------
    names : list of str
        Column names.
    numeric : list of bool
        Right-align this column and never cut its values.
    rows : list of tuple
        The rows shown (raw values, formatted by :func:`format_value`).
    total : int
        Rows in the whole result (for the footer).
    width : int
        Characters available per line.
    """
    cells = [[format_value(v) for v in row] for row in rows]
    sep = "  "
    widths, floor = [], []
    for i, name in enumerate(names):
        longest = max((len(r[i]) for r in cells), default=1)
        widths.append(min(MAX_CELL_WIDTH, max(len(name), longest)))
        values_floor = longest if numeric[i] else min(longest, MIN_TEXT_WIDTH)
        floor.append(min(widths[-1], max(values_floor, min(len(name), MIN_HEADER_WIDTH))))

    def line_width(count: int) -> int:
        return sum(widths[:count]) + len(sep) * (count - 1)

    while line_width(len(widths)) > width:
        slack = [w - f for w, f in zip(widths, floor)]
        widest = max(range(len(widths)), key=lambda i: (slack[i] > 0, widths[i]))
        if slack[widest] <= 0:
            break
        widths[widest] -= 1
    shown = len(widths)
    while shown > 1 and line_width(shown) > width:
        shown -= 1

    def render(values: list[str]) -> str:
        parts = []
        for i in range(shown):
            text = _cut(values[i], widths[i])
            parts.append(text.rjust(widths[i]) if numeric[i] else text.ljust(widths[i]))
        return sep.join(parts).rstrip()

    lines = [render(list(names)), sep.join("-" * w for w in widths[:shown])]
    lines += [render(r) for r in cells]
    footer = f"({total:,d} row{'s' if total != 1 else ''}"
    if len(rows) < total:
        footer += f", first {len(rows):,d} shown: --max-rows N (0 for all) or --format csv for more"
    if shown < len(names):
        hidden = len(names) - shown
        footer += f"; {hidden} more column{'s' if hidden != 1 else ''} not shown: {', '.join(names[shown:])}"
    lines.append(footer + ")")
    return "\n".join(lines) + "\n"


def _is_explain(schema: pa.Schema) -> bool:
    return schema.names == ["explain_key", "explain_value"]


def _write_table(reader: pa.RecordBatchReader, handle: TextIO, max_rows: int) -> int:
    schema = reader.schema
    kept: list[tuple] = []
    total = 0
    for batch in _batches(reader):
        want = batch.num_rows if max_rows == 0 else max(0, min(batch.num_rows, max_rows - len(kept)))
        if want:
            columns = [c.to_pylist() for c in batch.slice(0, want).columns]
            kept.extend(zip(*columns))
        total += batch.num_rows
    if _is_explain(schema):
        handle.write("\n".join(str(value) for _, value in kept) + "\n")
        return total
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
               for f in schema]
    width = shutil.get_terminal_size((120, 24)).columns
    handle.write(format_table(schema.names, numeric, kept, total, width))
    return total
