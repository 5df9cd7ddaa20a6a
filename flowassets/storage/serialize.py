"""How artifact values become bytes: pickle by default, Parquet for DataFrames and Arrow tables.

The encoding is recorded next to the hash in each task's manifest, so a reader never guesses,
and a Parquet blob can be opened by pandas/pyarrow straight from the store.
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

PICKLE = "pickle"
PARQUET_PANDAS = "parquet-pandas"
PARQUET_ARROW = "parquet-arrow"


def encode(value: Any) -> tuple[bytes, str]:
    kind = _columnar_kind(value)
    if kind is not None:
        try:
            return _to_parquet(value, kind), kind
        except Exception:  # noqa: BLE001 - e.g. mixed-type object columns: fall back to pickle
            pass
    try:
        return pickle.dumps(value, protocol=5), PICKLE
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle

        return cloudpickle.dumps(value, protocol=5), PICKLE


def decode(data: bytes | memoryview, encoding: str) -> Any:
    if encoding == PICKLE:
        return pickle.loads(data)
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(bytes(data)))
    if encoding == PARQUET_PANDAS:
        return table.to_pandas()
    return table


def _columnar_kind(value: Any) -> str | None:
    # Only look when the libraries are already imported: never import pandas to test a value.
    pd = sys.modules.get("pandas")
    if pd is not None and type(value) is pd.DataFrame:
        return PARQUET_PANDAS
    pa = sys.modules.get("pyarrow")
    if pa is not None and type(value) is pa.Table:
        return PARQUET_ARROW
    return None


def _to_parquet(value: Any, kind: str) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(value, preserve_index=True) if kind == PARQUET_PANDAS else value
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
