"""Ops: the steps of a computation.

An op (`@dg.op`) is a function Dagster runs as one step: its parameters are its inputs, what it
returns are its outputs, and a first parameter named `context` gives it a logger and the run's
details. An asset (lesson 01) is a thing your pipeline makes and keeps; an op is only the work,
with nothing stored behind its name. Ops run inside a job (lesson 04), but called directly an op
is a plain function, which makes it easy to unit test. A bare call sets up a throwaway Dagster
instance (tens of milliseconds), so after the first koan each call gets a context built on the
test's `instance` as its first argument: any op accepts one.
"""

import dagster as dg
import pytest

from dagster_koans import __, ___


def test_an_op_is_a_function_you_can_call_directly() -> None:
    """`@dg.op` turns a function into an op. Called directly, as in a unit test, it just runs."""

    @dg.op
    def double(n: int) -> int:
        return n * 2

    assert double(21) == 42


def test_an_ops_inputs_are_its_parameters() -> None:
    """Each parameter of the function becomes one of the op's inputs, under the same name."""

    @dg.op
    def add(a: int, b: int) -> int:
        return a + b

    assert list(add.ins) == ["a", "b"]


def test_a_returned_value_is_an_output_named_result() -> None:
    """What the function returns becomes the op's output; a single output is named `result`."""

    @dg.op
    def add(a: int, b: int) -> int:
        return a + b

    assert list(add.outs) == ["result"]


def test_an_op_that_takes_a_context_is_given_one_by_build_op_context(
    instance: dg.DagsterInstance,
) -> None:
    """An op whose first parameter is `context` must be given one, even in a unit test:
    `dg.build_op_context()` builds one (here on the test's `instance`)."""

    @dg.op
    def greet(context: dg.OpExecutionContext, name: str) -> str:
        return f"hello, {name}"

    with pytest.raises(dg.DagsterInvalidInvocationError):
        greet("ada")

    context = dg.build_op_context(instance=instance)
    assert greet(context, "ada") == "hello, ada"


def test_context_log_info_writes_a_message_to_the_log(
    instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    """`context.log` is the op's logger, with the usual `info`, `warning` and `error` methods: in a
    run its messages land in the run's event log; called directly, they go to the console."""

    @dg.op
    def count_users(context: dg.OpExecutionContext, names: list[str]) -> int:
        context.log.info(f"found {len(names)} users")
        return len(names)

    count_users(dg.build_op_context(instance=instance), ["ada", "grace", "linus"])

    logged = capsys.readouterr().err
    assert "INFO" in logged
    assert "found 3 users" in logged


def test_a_return_type_hint_is_checked_when_the_op_runs(instance: dg.DagsterInstance) -> None:
    """A type hint becomes the output's Dagster type, checked each time the op runs: a value of
    the wrong type fails the op with a type-check error."""

    @dg.op
    def parse_age(text: str) -> int:
        return text.strip()  # forgot int(...)

    with pytest.raises(dg.DagsterTypeCheckDidNotPass):
        parse_age(dg.build_op_context(instance=instance), " 36 ")


def test_dg_out_gives_an_output_its_type_and_description(instance: dg.DagsterInstance) -> None:
    """`out=dg.Out(...)` describes the output in the decorator: its type (instead of a return
    annotation), a description, metadata."""

    @dg.op(out=dg.Out(int, description="how many words the text holds"))
    def count_words(text: str):
        return len(text.split())

    assert count_words.outs["result"].dagster_type.display_name == "Int"
    assert count_words.outs["result"].description == "how many words the text holds"
    context = dg.build_op_context(instance=instance)
    assert count_words(context, "one op at a time") == 5


def test_several_outputs_are_returned_as_a_tuple(instance: dg.DagsterInstance) -> None:
    """With `out={"a": dg.Out(), "b": dg.Out()}` an op has several outputs: it returns a tuple,
    one value per output in the order of the dict."""

    @dg.op(out={"low": dg.Out(int), "high": dg.Out(int)})
    def min_max(numbers: list[int]) -> tuple[int, int]:
        return min(numbers), max(numbers)

    assert list(min_max.outs) == ["low", "high"]
    assert min_max(dg.build_op_context(instance=instance), [3, 1, 4]) == (1, 4)


def test_yielding_dg_output_names_each_output_as_it_goes(instance: dg.DagsterInstance) -> None:
    """An op may instead yield `dg.Output(value, output_name=...)` once per output, naming the
    output each value belongs to."""

    @dg.op(out={"adults": dg.Out(list), "minors": dg.Out(list)})
    def split_by_age(ages: dict[str, int]):
        yield dg.Output([name for name, age in ages.items() if age >= 18], output_name="adults")
        yield dg.Output([name for name, age in ages.items() if age < 18], output_name="minors")

    context = dg.build_op_context(instance=instance)
    outputs = {out.output_name: out.value for out in split_by_age(context, {"ada": 36, "tim": 9})}
    assert outputs == {"adults": ["ada"], "minors": ["tim"]}


def test_in_a_job_one_ops_output_is_the_next_ops_input(instance: dg.DagsterInstance) -> None:
    """Ops run inside a job (lesson 04): passing one op's output to another wires them
    together, and the run's result holds what each op returned."""

    @dg.op
    def make_name() -> str:
        return "ada"

    @dg.op
    def shout(name: str) -> str:
        return name.upper()

    @dg.job
    def greeting():
        shout(make_name())

    result = greeting.execute_in_process(instance=instance)
    assert result.output_for_node("shout") == "ADA"


def test_each_of_several_outputs_is_read_by_its_name(instance: dg.DagsterInstance) -> None:
    """An op with several outputs has no `result` output: the run's result gives each one by the
    name it has in `out`."""

    @dg.op(out={"low": dg.Out(int), "high": dg.Out(int)})
    def min_max() -> tuple[int, int]:
        return 1, 9

    @dg.job
    def extremes():
        min_max()

    result = extremes.execute_in_process(instance=instance)
    assert result.output_for_node("min_max", "high") == 9
