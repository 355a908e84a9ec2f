"""Ops: the steps of a computation.

An op (`@dg.op`) is a function Dagster runs as one step: its parameters are its inputs, what it
returns are its outputs, and a first parameter named `context` gives it a logger and the run's
details. An asset (lesson 01) is a thing your pipeline makes and keeps; an op is only the work,
with nothing stored behind its name. Ops run inside a job (lesson 04), but called directly an op
is a plain function, which makes it easy to unit test. A bare call sets up a throwaway Dagster
instance (tens of milliseconds), so the koans hand each call a context built on the test's
`instance` by `dg.build_op_context(instance=instance)`, as its first argument: any op accepts one.

Each kind of mistake has its own Dagster error, and its name says which kind. Calling an op in
a way it can't be called (without the context it asks for) raises
`dg.DagsterInvalidInvocationError`. A value that doesn't fit the type an op declares fails
Dagster's type check, and the step raises `dg.DagsterTypeCheckDidNotPass`. Breaking one of
Dagster's own rules (returning one list where two outputs were declared) raises
`dg.DagsterInvariantViolationError`.

Read next:
- https://docs.dagster.io/guides/build/ops
- https://docs.dagster.io/guides/build/ops/graphs
"""

import logging

import dagster as dg
import pytest

from dagster_koans import __, ___


def test_what_a_direct_call_of_an_op_records(instance: dg.DagsterInstance) -> None:
    """`@dg.op` turns a function into an op. Called directly, as in a unit test, it runs its body
    and returns the value, even when handed a context built on an instance."""

    @dg.op
    def double(n: int) -> int:
        return n * 2

    context = dg.build_op_context(instance=instance)

    assert double(context, 21) == 42
    assert instance.get_runs_count() == 0


def test_an_ops_inputs_come_from_its_parameters() -> None:
    """Parameters of the function become the op's inputs, under the same names: the values other
    ops hand it in a job. This op has a context too."""

    @dg.op
    def add(context: dg.OpExecutionContext, a: int, b: int) -> int:
        context.log.info(f"adding {a} and {b}")
        return a + b

    assert list(add.ins) == ["a", "b"]


def test_a_returned_value_is_one_output_with_a_default_name() -> None:
    """What the function returns becomes the op's output. This op never names it, so Dagster
    uses the name it gives every single output."""

    @dg.op
    def add(a: int, b: int) -> int:
        return a + b

    assert list(add.outs) == ["result"]


def test_an_op_that_asks_for_a_context_must_be_given_one(instance: dg.DagsterInstance) -> None:
    """An op whose first parameter is `context` must be given one, even in a unit test; calling
    it without one is not a call Dagster accepts."""

    @dg.op
    def greet(context: dg.OpExecutionContext, name: str) -> str:
        return f"hello, {name}"

    with pytest.raises(dg.DagsterInvalidInvocationError):
        greet("ada")

    assert greet(dg.build_op_context(instance=instance), "ada") == "hello, ada"


def test_context_log_writes_into_the_runs_event_log(instance: dg.DagsterInstance) -> None:
    """`context.log` is the op's logger, with `debug`, `info`, `warning` and `error`. In a run,
    Dagster stores each message in the run's event log, marked with the step that wrote it:
    that is where the UI shows it."""

    @dg.op
    def count_users(context: dg.OpExecutionContext) -> int:
        names = ["ada", "grace", "linus"]
        context.log.warning(f"{len(names)} users have no email")
        return len(names)

    @dg.job
    def users_job() -> None:
        count_users()

    result = users_job.execute_in_process(instance=instance)

    # The koans' quiet instance keeps warnings and worse; a deployed one keeps every level.
    [record] = [r for r in instance.all_logs(result.run_id) if r.user_message.endswith("email")]
    assert record.level == logging.WARNING
    assert record.step_key == "count_users"


def test_a_return_type_hint_is_checked_when_the_op_runs(instance: dg.DagsterInstance) -> None:
    """A type hint becomes the output's Dagster type, checked each time the op runs, in a job or
    in a direct call."""

    @dg.op
    def parse_age(text: str) -> int:
        return text.strip()  # forgot int(...)

    with pytest.raises(dg.DagsterTypeCheckDidNotPass):
        parse_age(dg.build_op_context(instance=instance), " 36 ")


def test_an_output_without_a_type_accepts_anything(instance: dg.DagsterInstance) -> None:
    """Without a type hint (or a type in `dg.Out`), an output still gets a Dagster type: the one
    every value passes."""

    @dg.op
    def parse_age(text):
        return text.strip()  # the same slip as before, and nothing notices

    assert parse_age(dg.build_op_context(instance=instance), " 36 ") == "36"
    assert parse_age.outs["result"].dagster_type.display_name == "Any"


def test_a_returned_tuple_fills_the_outputs_by_position(instance: dg.DagsterInstance) -> None:
    """With `out={"name": dg.Out(type), ...}` an op has several outputs and returns a tuple, one
    value per output; `output_for_node(node, output)` reads one output of a run by its name."""

    @dg.op(out={"high": dg.Out(int), "low": dg.Out(int)})
    def min_max() -> tuple[int, int]:
        numbers = [30, 10, 40]
        return min(numbers), max(numbers)

    @dg.job
    def extremes() -> None:
        min_max()

    result = extremes.execute_in_process(instance=instance)

    assert result.output_for_node("min_max", "high") == 10


def test_an_output_never_yielded_skips_the_ops_that_need_it(instance: dg.DagsterInstance) -> None:
    """An op may yield `dg.Output(value, output_name=...)` once per output instead. An output
    declared `is_required=False` may be left out, and the ops that need it are then skipped:
    this is how a job branches."""

    @dg.op
    def people() -> dict[str, int]:
        return {"ada": 36, "grace": 45}

    @dg.op(
        out={"adults": dg.Out(list, is_required=False), "minors": dg.Out(list, is_required=False)}
    )
    def split_by_age(ages: dict[str, int]):
        adults = [name for name, age in ages.items() if age >= 18]
        minors = [name for name, age in ages.items() if age < 18]
        if adults:
            yield dg.Output(adults, output_name="adults")
        if minors:
            yield dg.Output(minors, output_name="minors")

    @dg.op
    def greet_adults(names: list) -> str:
        return "good morning, " + ", ".join(names)

    @dg.op
    def greet_minors(names: list) -> str:
        return "hi, " + ", ".join(names)

    @dg.job
    def greetings() -> None:
        adults, minors = split_by_age(people())
        greet_adults(adults)
        greet_minors(minors)

    result = greetings.execute_in_process(instance=instance)

    assert result.success
    ran = {event.step_key for event in result.get_step_success_events()}
    assert ran == {"people", "split_by_age", "greet_adults"}


def test_an_input_with_a_default_needs_no_op_upstream(instance: dg.DagsterInstance) -> None:
    """In a job, an input usually receives another op's output. An input with a default value in
    the function may be left unconnected, as in `hello_job`. In `welcome_job` it is connected."""

    @dg.op
    def first_user() -> str:
        return "ada"

    @dg.op
    def greet(name: str = "world") -> str:
        return f"hello {name}"

    @dg.job
    def hello_job() -> None:
        greet()

    @dg.job
    def welcome_job() -> None:
        greet(first_user())

    assert hello_job.execute_in_process(instance=instance).output_for_node("greet") == "hello world"
    result = welcome_job.execute_in_process(instance=instance)

    assert result.output_for_node("greet") == "hello ada"
