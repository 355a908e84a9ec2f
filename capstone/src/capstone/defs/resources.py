"""The resources, and the folders they use, made on first load."""

import dagster as dg

from capstone.storage import (
    DATABASE,
    INBOX,
    WAREHOUSE,
    ExportsInbox,
    PartitionedParquetIOManager,
    UsersDatabase,
    create_users_database,
)


@dg.definitions
def resources() -> dg.Definitions:
    """The users database (created with its starting rows the first time), the warehouse of
    parquet files, and the inbox folder the sensor watches."""
    if not DATABASE.exists():
        create_users_database(DATABASE)
    INBOX.mkdir(parents=True, exist_ok=True)
    return dg.Definitions(
        resources={
            "database": UsersDatabase(path=str(DATABASE)),
            "io_manager": PartitionedParquetIOManager(base_dir=str(WAREHOUSE)),
            "inbox": ExportsInbox(path=str(INBOX)),
        }
    )
