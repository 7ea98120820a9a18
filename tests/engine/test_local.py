"""The local engine (mixedcontent/engine/local.py): tasks in worker processes, results in input order, and
the cyclic garbage collector off in this process only while results stream in (and, for a short-lived
process, kept off the results after the run)."""

from __future__ import annotations

import gc

from mixedcontent.engine.local import LocalEngine


def _task(x: int) -> tuple[int, bool]:
    return x * x, gc.isenabled()


def test_results_come_in_input_order_and_workers_collect_garbage() -> None:
    seen_here: list[bool] = []
    out = []
    for result in LocalEngine(2).run(_task, list(range(20)), [str(i) for i in range(20)]):
        seen_here.append(gc.isenabled())
        out.append(result)
    assert [r for r, _ in out] == [i * i for i in range(20)]
    assert all(enabled for _, enabled in out)  # the workers (forked while it was off) turned it on again
    assert seen_here == [False] * 20  # this process only keeps results: no collection while they come
    assert gc.isenabled()


def test_the_collector_is_back_after_an_interrupted_run_and_stays_off_if_it_was() -> None:
    results = LocalEngine(2).run(_task, list(range(20)), [str(i) for i in range(20)])
    next(results)
    results.close()  # a consumer that stops early
    assert gc.isenabled()
    gc.disable()
    try:
        assert [r for r, _ in LocalEngine(2).run(_task, [1, 2, 3], ["a", "b", "c"])] == [1, 4, 9]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_short_lived_process_freezes_what_the_run_kept_and_others_do_not() -> None:
    """The command line's run (EngineSettings.short_lived) keeps its results to its exit: they are moved
    out of the collector's walks when the run ends; a run in a long-lived process (the API, the MkDocs
    and Sphinx plugins) leaves the collector as it was."""
    assert gc.get_freeze_count() == 0
    kept = list(LocalEngine(2).run(_task, list(range(8)), [str(i) for i in range(8)]))
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    try:
        kept += list(LocalEngine(2, short_lived=True).run(_task, list(range(8)), [str(i) for i in range(8)]))
        assert gc.get_freeze_count() > 0 and gc.isenabled()
        assert [r for r, _ in kept] == [i * i for i in range(8)] * 2
    finally:
        gc.unfreeze()
