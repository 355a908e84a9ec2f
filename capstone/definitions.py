"""The capstone pipeline, finished, to open in the Dagster UI.

The same pieces as `koans/14_capstone.py`, as one module exposing `defs`. The UI needs
`dagster-webserver` (the project's optional `ui` extra). From the repository's root:

    pip install -e ".[ui]"
    mkdir -p .koans/dagster_home
    DAGSTER_HOME="$PWD/.koans/dagster_home" dagster dev -f capstone/definitions.py

then open http://localhost:3000. (Without DAGSTER_HOME, `dagster dev` keeps its runs in a
`.tmp_dagster_home_*` folder in the current directory until it exits.) To only check that the
definitions load: `DAGSTER_HOME=... dagster definitions validate -f capstone/definitions.py`.

Everything the pipeline writes stays under `.koans/capstone/`, which git ignores:
- `users.db`: the users database, created with three users when this module first loads;
- `warehouse/`: one parquet file per asset, written by the IO manager;
- `inbox/`: drop a `.csv` file here and the `new_exports` sensor (once turned on in the UI) asks
  for a refresh. The `daily_refresh` schedule asks for one every day at 06:00, Paris time.
"""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import dagster as dg
import pandas as pd

# The project's tests point this elsewhere, to keep even the git-ignored folder untouched.
DATA_DIR = Path(
    os.environ.get("DAGSTER_KOANS_CAPSTONE_DIR")
    or Path(__file__).resolve().parent.parent / ".koans" / "capstone"
)
DATABASE = DATA_DIR / "users.db"
WAREHOUSE = DATA_DIR / "warehouse"
INBOX = DATA_DIR / "inbox"

SEED_USERS = (("ada", True), ("grace", False), ("linus", True))


def seed_database(path: Path) -> None:
    """Creates the users database with its seed rows, unless it is already there."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("create table users (name text, active integer)")
        conn.executemany("insert into users values (?, ?)", SEED_USERS)


class UsersDatabase(dg.ConfigurableResource):
    """The users database: a real sqlite3 file, opened for each query and closed after it."""

    path: str

    def read_users(self) -> pd.DataFrame:
        with closing(sqlite3.connect(self.path)) as conn:
            query = "select name, active from users order by rowid"
            return pd.read_sql_query(query, conn, dtype={"active": bool})


class ParquetIOManager(dg.ConfigurableIOManager):
    """Keeps each asset as a parquet file: <base_dir>/<asset key path>.parquet."""

    base_dir: str

    def _path(self, asset_key: dg.AssetKey) -> Path:
        return Path(self.base_dir, *asset_key.path).with_suffix(".parquet")

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        path = self._path(context.asset_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        obj.to_parquet(path)
        context.add_output_metadata({"path": dg.MetadataValue.path(str(path)), "rows": len(obj)})

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        return pd.read_parquet(self._path(context.asset_key))


@dg.asset(group_name="users")
def users_table(database: UsersDatabase) -> pd.DataFrame:
    """Everyone in the users database."""
    return database.read_users()


@dg.asset(group_name="users")
def active_users(users_table: pd.DataFrame) -> pd.DataFrame:
    """The users who are active."""
    return users_table[users_table["active"]]


@dg.asset_check(asset=users_table, blocking=True)
def names_are_unique(users_table: pd.DataFrame) -> dg.AssetCheckResult:
    """No name appears twice; if one does, `active_users` is not built from the bad table."""
    duplicates = users_table["name"][users_table["name"].duplicated()]
    return dg.AssetCheckResult(
        passed=duplicates.empty, metadata={"duplicates": ", ".join(sorted(set(duplicates)))}
    )


@dg.asset_check(asset=active_users)
def every_active_user_is_active(active_users: pd.DataFrame) -> dg.AssetCheckResult:
    """`active_users` holds no inactive user."""
    return dg.AssetCheckResult(passed=bool(active_users["active"].all()))


refresh_users = dg.define_asset_job(
    "refresh_users",
    selection=dg.AssetSelection.assets(users_table, active_users),
    description="Reads the users database and rebuilds both assets, with their checks.",
)


@dg.schedule(job=refresh_users, cron_schedule="0 6 * * *", execution_timezone="Europe/Paris")
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day at 06:00, Paris time; the day is the run key, so a day is refreshed once."""
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=day, tags={"day": day})


@dg.sensor(job=refresh_users, minimum_interval_seconds=30)
def new_exports(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Asks for a refresh for each new `.csv` file in the inbox; the cursor is the last one seen."""
    names = sorted(p.name for p in INBOX.glob("*.csv") if p.name > (context.cursor or ""))
    if not names:
        return dg.SkipReason(f"no new .csv file in {INBOX}")
    requests = [dg.RunRequest(run_key=name, tags={"export": name}) for name in names]
    return dg.SensorResult(run_requests=requests, cursor=names[-1])


seed_database(DATABASE)
INBOX.mkdir(parents=True, exist_ok=True)

defs = dg.Definitions(
    assets=[users_table, active_users],
    asset_checks=[names_are_unique, every_active_user_is_active],
    jobs=[refresh_users],
    schedules=[daily_refresh],
    sensors=[new_exports],
    resources={
        "database": UsersDatabase(path=str(DATABASE)),
        "io_manager": ParquetIOManager(base_dir=str(WAREHOUSE)),
    },
)
