"""CPU pinning (perflab:limits.<class>.cpuset): parsed, refused where it cannot work, read back from Docker."""
from __future__ import annotations

import pytest

from perflab.errors import ConfigError
from perflab.settings import StackConfig, cpuset_cpus

LIMITS = {"api": {"cpus": 1.0, "memory": "1g", "cpuset": "1"}, "database": {"cpus": 2, "memory": "2g", "cpuset": "2-3"},
          "loadgen": {"cpus": 1.0, "memory": "1g"}}


def config(limits=None) -> StackConfig:
    return StackConfig("local", {"perflab:limits": limits or LIMITS})


def test_cpu_lists_read_like_dockers():
    assert cpuset_cpus("0") == [0] and cpuset_cpus("0-2,5") == [0, 1, 2, 5] and cpuset_cpus("3,1") == [1, 3]
    for bad in ("", "a", "1-", "2-1", "1,,2", "-1"):
        with pytest.raises(ConfigError):
            cpuset_cpus(bad)


def test_limits_carry_the_cpuset_and_only_when_set():
    cfg = config()
    assert cfg.limits("api").cpuset == "1" and cfg.limits("loadgen").cpuset is None
    assert cfg.limits("database").as_dict() == {"cpus": 2.0, "memory": "2g", "cpuset": "2-3"}
    assert "cpuset" not in cfg.limits("loadgen").as_dict()
    with pytest.raises(ConfigError, match="not a CPU list"):
        config({"api": {"cpus": 1, "memory": "1g", "cpuset": "one"}}).limits("api")


def test_pinning_needs_four_cpus_existing_cores_and_enough_of_them():
    config().check_cpusets(8)  # fine
    with pytest.raises(ConfigError, match="4 or more CPUs, this one has 2"):
        config().check_cpusets(2)
    with pytest.raises(ConfigError, match="CPU 5 does not exist"):
        config({**LIMITS, "api": {"cpus": 1, "memory": "1g", "cpuset": "5"}}).check_cpusets(4)
    with pytest.raises(ConfigError, match="2.0 CPUs cannot run on cpuset 2 "):
        config({**LIMITS, "database": {"cpus": 2, "memory": "2g", "cpuset": "2"}}).check_cpusets(4)
    config({"api": {"cpus": 1, "memory": "1g"}}).check_cpusets(1)  # nothing pinned: any host
