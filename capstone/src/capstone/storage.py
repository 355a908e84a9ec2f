"""Where the pipeline's data lives: the users database, the warehouse and the inbox.

Everything stays under one folder: `.koans/capstone/` in the repository (git ignores it), or the
folder named by the environment variable `DAGSTER_KOANS_CAPSTONE_DIR`, which the project's tests
point at a temporary folder.
"""

import os
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import dagster as dg
import pandas as pd

DATA_DIR = Path(
    os.environ.get("DAGSTER_KOANS_CAPSTONE_DIR")
    or Path(__file__).resolve().parents[3] / ".koans" / "capstone"
)
DATABASE = DATA_DIR / "users.db"
WAREHOUSE = DATA_DIR / "warehouse"
INBOX = DATA_DIR / "inbox"

# Who signed up when: the rows the users database starts with.
STARTING_USERS = (
    ("ada", True, "2024-05-01"),
    ("grace", False, "2024-05-01"),
    ("linus", True, "2024-05-02"),
    ("mary", True, "2024-05-02"),
    ("alan", False, "2024-05-02"),
)


def create_users_database(
    path: Path, users: Sequence[tuple[str, bool, str]] = STARTING_USERS
) -> None:
    """Creates a sqlite3 database at `path` with a `users` table holding `users`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("create table users (name text, active integer, signed_up text)")
        conn.executemany("insert into users values (?, ?, ?)", users)


class UsersDatabase(dg.ConfigurableResource):
    """The users database: a real sqlite3 file, opened for each query and closed after it."""

    path: str
    timeout_seconds: float = 5.0  # how long a query waits for a locked database

    def read_signups(self, day: str) -> pd.DataFrame:
        """The users who signed up on `day` (YYYY-MM-DD)."""
        query = "select name, active, signed_up from users where signed_up = ? order by rowid"
        with closing(sqlite3.connect(self.path, timeout=self.timeout_seconds)) as conn:
            return pd.read_sql_query(query, conn, params=(day,), dtype={"active": bool})


class ExportsInbox(dg.ConfigurableResource):
    """The folder where the CRM drops one export per day, named `users_YYYY-MM-DD.csv`."""

    path: str

    def export_names(self) -> list[str]:
        return sorted(p.name for p in Path(self.path).glob("users_????-??-??.csv"))


class PartitionedParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as parquet: one file per partition, <base_dir>/<asset key>/<day>.parquet,
    or <base_dir>/<asset key>.parquet for an asset without partitions."""

    base_dir: str

    def _path(self, context: dg.OutputContext | dg.InputContext) -> Path:
        path = Path(self.base_dir, *context.asset_key.path)
        if context.has_asset_partitions:
            return path / f"{context.asset_partition_key}.parquet"
        return path.with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)
        # The standard keys, as Dagster's own DuckDB IO manager reports them.
        rows = (
            "dagster/partition_row_count" if context.has_asset_partitions else "dagster/row_count"
        )
        context.add_output_metadata({rows: len(obj), "dagster/uri": path.as_uri()})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context))
