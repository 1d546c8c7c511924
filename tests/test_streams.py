"""The random streams (``sim.engine.streams``): each draw is a keyed hash of where it is used, so
the draws must look independent and have the right distributions. Every key here is fixed,
so each test is deterministic: a p-value threshold is checked once and never flakes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.engine.assembly import STREAM_TAGS, streams_for
from sim.engine.streams import binomial, normal, poisson, stream_tag, uniform
from sim.engine.week import PROCESSES

SESSIONS = [p.stream for p in PROCESSES].index("sessions")
BLOCS = [p.stream for p in PROCESSES].index("blocs")
KEY = streams_for(20211107)[SESSIONS]
N = 100_000


def uniforms(key=KEY, week=10, slot=0, actor=0, n=N) -> np.ndarray:
    """n draws along the index (as a vote draws one per member)."""
    return np.array([uniform(key, week, slot, actor, i) for i in range(n)])


def grid(draw, weeks=100, actors=1000) -> np.ndarray:
    """(weeks, actors) draws, one per week and actor (as the processes draw them)."""
    return np.array([[draw(w, a) for a in range(actors)] for w in range(weeks)])


def test_uniforms_are_uniform_along_the_index_and_across_weeks_and_actors():
    u = uniforms()
    assert ((u >= 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    v = grid(lambda w, a: uniform(KEY, w, 3, a)).ravel()
    assert stats.kstest(v, "uniform").pvalue > 1e-3
    assert abs(v.mean() - 0.5) < 4 * np.sqrt(1 / 12 / len(v))


def test_normals_have_mean_0_and_sd_1():
    z = grid(lambda w, a: normal(KEY, w, 2, a)).ravel()
    se = 1 / np.sqrt(len(z))
    assert abs(z.mean()) < 4 * se
    assert abs(z.std() - 1) < 4 * se / np.sqrt(2)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert z.min() < -3.5 and z.max() > 3.5, "the tails are drawn too"


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_draws_for_different_actors_weeks_slots_and_keys_are_uncorrelated():
    base = grid(lambda w, a: uniform(KEY, w, 0, a), weeks=50, actors=400)
    limit = 4 / np.sqrt(base.size)
    neighbours = {
        "next actor": grid(lambda w, a: uniform(KEY, w, 0, a + 1), weeks=50, actors=400),
        "next week": grid(lambda w, a: uniform(KEY, w + 1, 0, a), weeks=50, actors=400),
        "next slot": grid(lambda w, a: uniform(KEY, w, 1, a), weeks=50, actors=400),
        "next index": grid(lambda w, a: uniform(KEY, w, 0, a, 1), weeks=50, actors=400),
        "another process": grid(
            lambda w, a: uniform(streams_for(20211107)[BLOCS], w, 0, a), weeks=50, actors=400
        ),
        "another seed": grid(
            lambda w, a: uniform(streams_for(20211108)[SESSIONS], w, 0, a), weeks=50, actors=400
        ),
    }
    for what, other in neighbours.items():
        assert abs(correlation(base, other)) < limit, what
        assert not np.array_equal(base, other), what
    # and no draw is correlated with the next one along the index
    u = uniforms()
    assert abs(correlation(u[:-1], u[1:])) < 4 / np.sqrt(len(u))


@pytest.mark.parametrize("rate", [0.3, 1.5, 2.0, 15.0])
def test_poisson_counts_have_the_right_mean_and_variance(rate):
    k = grid(lambda w, a: poisson(KEY, w, 1, a, rate), weeks=50, actors=400).ravel()
    assert abs(k.mean() - rate) < 4 * np.sqrt(rate / len(k))
    assert k.var() == pytest.approx(rate, rel=0.05)
    assert (k >= 0).all()


def test_poisson_of_no_rate_is_zero():
    assert poisson(KEY, 1, 1, 1, 0.0) == 0
    assert poisson(KEY, 1, 1, 1, -1.0) == 0


@pytest.mark.parametrize("n, p", [(73, 0.95), (20, 0.3), (4, 0.6), (329, 0.5), (9, 0.02)])
def test_binomial_counts_follow_the_binomial_distribution(n, p):
    k = grid(lambda w, a: binomial(KEY, w, 4, a, n, p), weeks=50, actors=400).ravel()
    assert ((k >= 0) & (k <= n)).all()
    assert abs(k.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / len(k))
    # the whole distribution: a chi-square test over the values with enough expected counts
    expected = stats.binom.pmf(np.arange(n + 1), n, p) * len(k)
    observed = np.bincount(k, minlength=n + 1)
    keep = expected >= 5
    rest_expected = expected[~keep].sum()
    rest_observed = observed[~keep].sum()
    obs = np.append(observed[keep], rest_observed)
    exp = np.append(expected[keep], rest_expected)
    if rest_expected < 5:  # fold a thin tail into the last bin
        obs, exp = np.append(obs[:-2], obs[-2:].sum()), np.append(exp[:-2], exp[-2:].sum())
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_binomial_edges():
    assert binomial(KEY, 1, 1, 1, 50, 0.0) == 0
    assert binomial(KEY, 1, 1, 1, 50, 1.0) == 50
    assert binomial(KEY, 1, 1, 1, 0, 0.5) == 0


def test_draws_are_pure_functions_of_their_arguments():
    assert uniform(KEY, 5, 2, 7, 3) == uniform(KEY, 5, 2, 7, 3)
    assert normal(KEY, 5, 2, 7) == normal(KEY, 5, 2, 7)
    assert poisson(KEY, 5, 2, 7, 1.5) == poisson(KEY, 5, 2, 7, 1.5)
    assert binomial(KEY, 5, 2, 7, 73, 0.95) == binomial(KEY, 5, 2, 7, 73, 0.95)
    assert np.array_equal(uniforms(n=1000), uniforms(n=1000))
    # a draw does not depend on which draws were made before it
    before = uniform(KEY, 9, 0, 3)
    uniforms(n=100, week=9)
    assert uniform(KEY, 9, 0, 3) == before


def test_each_run_and_process_has_its_own_key():
    a, b = streams_for(1), streams_for(2)
    assert a.dtype == np.uint64 and len(a) == len(PROCESSES)
    drawing = [k for k, p in enumerate(PROCESSES) if p.stream]
    assert len({int(a[k]) for k in drawing}) == len(drawing), "one key per process"
    assert not set(a.tolist()) & set(b.tolist()), "another seed, other keys"
    assert np.array_equal(streams_for(1), a), "the same seed, the same keys"


def test_a_streams_key_depends_on_its_name_alone():
    """A key is the seed's root mixed with the stream's name: reordering the week or adding
    a process moves no other process's numbers."""
    assert [int(t) for t in STREAM_TAGS] == [int(stream_tag(p.stream)) for p in PROCESSES]
    alone = streams_for(7)[SESSIONS]
    from sim.engine.streams import stream_keys

    again = stream_keys(7, np.array([stream_tag("new"), stream_tag("sessions")], np.uint64))
    assert again[1] == alone
