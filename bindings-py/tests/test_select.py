"""svccore.Balancer and Cluster.simulate: the selection engine from Python."""

from __future__ import annotations

import array
import pathlib

import pytest
import svccore

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
NGINX = ["10.244.104.10:80", "10.244.166.129:80", "10.244.166.191:80"]


def test_rr_picks_newest_real_server_first_like_the_kernel() -> None:
    b = svccore.Balancer("rr", NGINX)
    assert [b.pick("192.0.2.1") for _ in range(4)] == [NGINX[2], NGINX[1], NGINX[0], NGINX[2]]


def test_maglev_is_consistent_per_client_and_independent_of_order() -> None:
    a = svccore.Balancer("maglev", NGINX, table_size=251)
    b = svccore.Balancer("maglev", list(reversed(NGINX)), table_size=251)
    for i in range(50):
        ip = f"198.51.100.{i}"
        assert a.pick(ip) == b.pick(ip) == a.pick(ip)


def test_iptables_affinity_holds_inside_the_timeout() -> None:
    b = svccore.Balancer("iptables", NGINX, affinity_timeout=30, seed=3)
    first = b.pick("192.0.2.9", now=0.0)
    assert all(b.pick("192.0.2.9", now=t) == first for t in (1.0, 10.0, 29.0))


def test_pick_many_accepts_lists_and_uint32_buffers() -> None:
    b = svccore.Balancer("sh", NGINX)
    ips = array.array("I", [0xC0000201, 0xC0000202, 0xC0000203])
    idx = b.pick_many(ips).tolist()
    picks = [b.pick(ip) for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3")]
    assert idx == [NGINX.index(p) for p in picks if p is not None]
    assert b.pick_many(["192.0.2.1"], as_addresses=True) == [b.pick("192.0.2.1")]


def test_pick_many_refuses_a_buffer_of_the_wrong_type() -> None:
    b = svccore.Balancer("rr", NGINX)
    with pytest.raises(svccore.InvalidArgumentError, match="unsigned 32-bit"):
        b.pick_many(array.array("d", [1.0]))


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("round-robin", NGINX), {}, "unknown selection algorithm"),
        (("maglev", NGINX), {"table_size": 1000}, "prime"),
        (("rr", []), {}, "no backends"),
        (("rr", ["10.0.0.1"]), {}, "not ip:port"),
        (("rr", NGINX), {"weights": [1]}, "1 weights for 3 backends"),
        (("rr", NGINX), {"affinity": "sticky"}, "unknown affinity"),
    ],
)
def test_bad_arguments_are_value_errors_with_a_clear_message(
    args: tuple[str, list[str]], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(svccore.InvalidArgumentError, match=message) as e:
        svccore.Balancer(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(e.value, ValueError)


def test_bad_client_ip_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        svccore.Balancer("rr", NGINX).pick("not-an-ip")


def test_simulate_affinity_example_keeps_every_client_on_one_pod() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-affinity.yaml"))
    r = c.simulate("study/service-clusterip", clients=20, connections=2000)
    d = r.to_dict()
    assert d["affinity"]["clients_pinned"] == d["affinity"]["clients"] == 20
    assert sum(r.picks.values()) == 2000
    assert "affinity ClientIP 10800s" in str(r)


def test_simulate_errors_are_typed() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-study.yaml"))
    with pytest.raises(svccore.UnknownServiceError):
        c.simulate("study/nope")
    with pytest.raises(svccore.InvalidArgumentError, match="unknown selection algorithm"):
        c.simulate("study/service-clusterip", scheduler="fastest")


def test_pick_parses_every_client_string_right_through_its_cache() -> None:
    # More distinct clients than the parse cache has slots, equal strings as distinct objects.
    ips = [f"100.64.{i // 256}.{i % 256}" for i in range(5000)]
    b = svccore.Balancer("maglev", NGINX, table_size=251)
    expected = b.pick_many(ips, as_addresses=True)
    assert [b.pick(ip) for ip in ips] == expected
    copies = ["".join(ip) for ip in ips]
    assert [b.pick(ip) for ip in reversed(copies)] == expected[::-1]


def test_pick_refuses_a_client_that_is_not_a_string() -> None:
    b = svccore.Balancer("rr", NGINX)
    with pytest.raises(svccore.InvalidArgumentError, match=r"^client_ip must be a str, got int$"):
        b.pick(3232235777)  # type: ignore[arg-type]


def test_simulate_reports_progress_to_a_callback() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-study.yaml"))
    seen: list[tuple[int, int]] = []
    c.simulate(
        "study/service-clusterip", connections=5000, progress=lambda d, t: seen.append((d, t))
    )
    assert len(seen) >= 100
    assert seen[-1] == (5000, 5000)


def test_a_failing_progress_callback_surfaces_its_exception() -> None:
    c = svccore.Cluster.from_files(str(EXAMPLES / "nginx-study.yaml"))

    def boom(done: int, total: int) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        c.simulate("study/service-clusterip", connections=100, progress=boom)


def test_progress_bar_draws_on_a_terminal_and_clears_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from svccore.cli import ProgressBar

    bar = ProgressBar(enabled=True)
    bar(50, 100)
    bar.close()
    err = capsys.readouterr().err
    assert "[###############---------------] 50/100" in err
    assert err.endswith("\r\033[K")


def test_simulate_mode_ipvs_shows_the_listing_with_live_counts() -> None:
    import contextlib
    import io

    from svccore.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "simulate",
                "-f",
                str(EXAMPLES / "nginx-study.yaml"),
                "--service",
                "study/service-clusterip",
                "--node",
                "master",
                "--mode",
                "ipvs",
                "--connections",
                "300",
            ]
        )
    assert code == 0
    text = out.getvalue()
    assert "(rr, Pod traffic" in text
    assert "TCP  10.97.97.97:80 rr" in text


def test_simulate_contradictory_mode_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from svccore.cli import main

    args = [
        "simulate",
        "-f",
        str(EXAMPLES / "nginx-study.yaml"),
        "--service",
        "study/service-clusterip",
    ]
    assert main([*args, "--mode", "ipvs", "--scheduler", "iptables"]) == 2
    assert "--mode ipvs takes an IPVS scheduler" in capsys.readouterr().err
