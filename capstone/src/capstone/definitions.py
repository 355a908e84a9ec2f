from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Everything in the `defs` folder next to this file: the pipeline's assets, job, schedule,
    sensor and resources, found by `dg` and by the Dagster UI."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
