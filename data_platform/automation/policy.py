"""The one place layer policy meets the assets: each spec gets its owners, and its layer's
automation condition and freshness policy, by its `layer` tag and whether it is partitioned."""

import dagster as dg

from data_platform.automation import freshness
from data_platform.automation.conditions import follows_each_batch, follows_each_partition

# who is called about every asset of the platform (the UI's owners, alert routing)
OWNERS = ["team:data-platform"]


def apply(spec: dg.AssetSpec) -> dg.AssetSpec:
    spec = spec.replace_attributes(owners=OWNERS)
    layer = spec.tags.get("layer")
    daily = spec.partitions_def is not None
    if layer in ("silver", "quarantine"):
        # quarantine is written by silver's own step: one freshness alert for the pair is enough
        policy = None
        if layer == "silver":
            policy = freshness.daily_policy() if daily else freshness.dimensions_policy()
        return spec.replace_attributes(
            automation_condition=follows_each_partition(), freshness_policy=policy
        )
    if layer == "quality":
        # a measurement of silver's days, not data anyone waits on: no freshness policy of its own
        return spec.replace_attributes(automation_condition=follows_each_partition())
    if layer == "gold":
        condition = follows_each_partition() if daily else follows_each_batch()
        return spec.replace_attributes(
            automation_condition=condition, freshness_policy=freshness.daily_policy()
        )
    return spec
