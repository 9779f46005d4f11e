"""The alarm definitions of the data tier: RDS PostgreSQL (the primary and each read replica)
and ElastiCache Redis (one set per member cluster). Pure functions in the shape of
components/alarm_catalog.py, whose model and units they use (and whose `create_alarm`
builds them)."""

from __future__ import annotations

import pulumi

from components.alarm_catalog import (
    BELOW,
    GIB,
    MIB,
    MISSING,
    AlarmDefinition,
    Metric,
)
from components.config import AlarmThresholds

# ---------------------------------------------------------------------------------------------
# RDS PostgreSQL


def _db(identifier: pulumi.Input[str]) -> dict:
    return {"DBInstanceIdentifier": identifier}


def db_cpu(identifier: pulumi.Input[str], t: AlarmThresholds) -> AlarmDefinition:
    return AlarmDefinition(
        key="db-cpu",
        severity="warning",
        description=(
            f"Database CPU is above {t.db_cpu_percent:g} % for 15 minutes. Check Performance "
            "Insights for the top queries; add an index or scale the instance class."
        ),
        signal=Metric(
            namespace="AWS/RDS", name="CPUUtilization", dimensions=_db(identifier), stat="Average"
        ),
        threshold=t.db_cpu_percent,
        period=300,
        evaluation_periods=3,
        treat_missing_data=MISSING,
    )


def db_free_storage(
    identifier: pulumi.Input[str], allocated_storage_gb: int, t: AlarmThresholds
) -> AlarmDefinition:
    # FreeStorageSpace is in bytes; the threshold is a share of what is allocated.
    threshold = allocated_storage_gb * GIB * t.db_free_storage_percent / 100
    return AlarmDefinition(
        key="db-free-storage",
        severity="critical",
        description=(
            f"Database free storage is below {t.db_free_storage_percent:g} % of "
            f"{allocated_storage_gb} GiB. A full disk stops all writes: raise allocated "
            "storage (or the autoscaling maximum) and look for bloat or runaway tables."
        ),
        signal=Metric(
            namespace="AWS/RDS", name="FreeStorageSpace", dimensions=_db(identifier), stat="Minimum"
        ),
        threshold=threshold,
        comparison=BELOW,
        period=300,
        treat_missing_data=MISSING,
    )


def db_connections(
    identifier: pulumi.Input[str], max_connections: int, t: AlarmThresholds
) -> AlarmDefinition:
    threshold = max_connections * t.db_connections_percent / 100
    return AlarmDefinition(
        key="db-connections",
        severity="warning",
        description=(
            f"Database connections are above {t.db_connections_percent:g} % of "
            f"max_connections ({max_connections}). Check pool sizes times task counts and "
            "idle-in-transaction sessions before the API starts failing to connect."
        ),
        signal=Metric(
            namespace="AWS/RDS",
            name="DatabaseConnections",
            dimensions=_db(identifier),
            stat="Maximum",
        ),
        threshold=threshold,
        period=300,
        evaluation_periods=2,
        treat_missing_data=MISSING,
    )


def db_free_memory(identifier: pulumi.Input[str], t: AlarmThresholds) -> AlarmDefinition:
    return AlarmDefinition(
        key="db-free-memory",
        severity="warning",
        description=(
            f"Database freeable memory is below {t.db_free_memory_mb} MiB for 15 minutes; the "
            "instance will swap. Check work_mem and connection counts, or scale the class."
        ),
        signal=Metric(
            namespace="AWS/RDS", name="FreeableMemory", dimensions=_db(identifier), stat="Minimum"
        ),
        threshold=t.db_free_memory_mb * MIB,
        comparison=BELOW,
        period=300,
        evaluation_periods=3,
        treat_missing_data=MISSING,
    )


def db_replica_lag(
    index: int, replica_identifier: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"db-replica-lag-{index}",
        severity="warning",
        description=(
            f"Read replica {index} lags the primary by more than "
            f"{t.db_replica_lag_seconds:g} s for 10 minutes; reads from it are stale. Check "
            "long-running queries on the replica and write bursts on the primary."
        ),
        signal=Metric(
            namespace="AWS/RDS",
            name="ReplicaLag",
            dimensions=_db(replica_identifier),
            stat="Maximum",
        ),
        threshold=t.db_replica_lag_seconds,
        period=300,
        evaluation_periods=2,
        treat_missing_data=MISSING,
    )


# ---------------------------------------------------------------------------------------------
# ElastiCache Redis (one set per member cluster: metrics are per node)


def _node(member_cluster_id: pulumi.Input[str]) -> dict:
    return {"CacheClusterId": member_cluster_id}


def cache_evictions(
    index: int, member_cluster_id: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"cache-evictions-{index}",
        severity="warning",
        description=(
            f"Redis node {index} evicted keys: it is full, so sessions, locks or cached data "
            "disappear early. Check for keys without TTL and memory growth; scale the node."
        ),
        signal=Metric(
            namespace="AWS/ElastiCache",
            name="Evictions",
            dimensions=_node(member_cluster_id),
            stat="Sum",
        ),
        threshold=t.cache_evictions,
        period=300,
    )


def cache_engine_cpu(
    index: int, member_cluster_id: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"cache-engine-cpu-{index}",
        severity="warning",
        description=(
            f"Redis node {index}'s engine thread is above {t.cache_cpu_percent:g} % CPU for "
            "15 minutes; latency will climb. Look for O(N) commands (KEYS, large ranges) and "
            "hot keys; scale up the node type."
        ),
        signal=Metric(
            namespace="AWS/ElastiCache",
            name="EngineCPUUtilization",
            dimensions=_node(member_cluster_id),
            stat="Average",
        ),
        threshold=t.cache_cpu_percent,
        period=300,
        evaluation_periods=3,
        treat_missing_data=MISSING,
    )


def cache_memory(
    index: int, member_cluster_id: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"cache-memory-{index}",
        severity="critical",
        description=(
            f"Redis node {index} uses more than {t.cache_memory_percent:g} % of its memory; "
            "next it evicts or refuses writes. Find the growing keyspace; scale the node type."
        ),
        signal=Metric(
            namespace="AWS/ElastiCache",
            name="DatabaseMemoryUsagePercentage",
            dimensions=_node(member_cluster_id),
            stat="Maximum",
        ),
        threshold=t.cache_memory_percent,
        period=300,
        evaluation_periods=2,
        treat_missing_data=MISSING,
    )
