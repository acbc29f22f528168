"""How silver and gold follow the layer before them (declarative automation).

The landing sensor materializes bronze; everything downstream is requested by the automation
sensor from these conditions. Two shapes, both evaluated for every partition, not only the latest
(a correction landing in an old date's folder must flow on like today's files):

- `follows_each_partition`: a partition is rebuilt when one of its upstream partitions changed
  (or built when its inputs first all exist), once no upstream run is in progress and every
  blocking check upstream of it passed. A parent requested on the same tick counts as a change,
  so silver and daily gold of one new day are requested together and run in one run; the run
  stops before gold if silver's blocking check fails.
- `follows_each_batch` (unpartitioned gold): refreshed once after a batch of upstream changes has
  finished, not once per partition or per run: it waits while any upstream run is in progress.
"""

import dagster as dg

AC = dg.AutomationCondition


def _settled() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    """No run upstream is still building what this asset reads, this asset is neither in a run
    nor in a backfill, and no blocking check upstream stands failed.

    Upstream means parents and grandparents: gold waits while bronze is still loading a range, so
    a first load's silver tables finish before gold is built once over all of them. Upstream
    runs are what is waited for, not upstream backfills: a backfill is marked complete only on
    the backfill daemon's next pass (every 30 s) after its last run, and this asset fires only on
    upstream updates, which are done once the runs are.

    A blocking check that has not run yet does not hold a partition back: a parent requested on
    the same tick runs in the same run, and the run itself stops before the child if it fails.
    Checks are recorded per run (a range run has no single partition to record them on), so a
    failed blocking check holds back everything downstream of its asset until a run passes it.
    """
    running = AC.run_in_progress()
    busy = AC.any_deps_match(running) | AC.any_deps_match(AC.any_deps_match(running))
    failed = AC.any_deps_match(AC.any_checks_match(AC.check_failed(), blocking_only=True))
    return (
        ~busy.with_label("upstream_in_progress")
        & ~AC.in_progress()
        & ~failed.with_label("any_deps_blocking_check_failed")
    )


def _inputs_exist() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    """Every input of the partition exists or is requested on this tick: a day's gold waits for
    both its orders and its lineitem, and days without data (every date up to today is a
    partition) are never built because a dimension changed."""
    return AC.all_deps_match(~AC.missing() | AC.will_be_requested()).with_label("inputs_exist")


def _inputs_arrived() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    """A partition never built whose inputs now all exist, once, when they appear.

    Automation finds updates by the event log's ids, read from a cursor. On PostgreSQL an id is
    taken when a row is inserted, not when it is committed: two workers recording their ranges
    at once can commit out of id order, and the part committed behind the cursor is never seen
    as updated (seen in the production profile: bronze lineitem's first 1,117 days of a
    history). What exists, though, is read afresh on every tick, so this catches what the
    cursor missed."""
    return (AC.missing() & _inputs_exist()).newly_true().with_label("inputs_arrived")


def follows_each_partition() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    # a partition whose inputs arrived while its own run was under way, and which then failed, is
    # not tried again for that: only a new upstream change does
    arrived = _inputs_arrived().since_last_handled() & ~AC.execution_failed()
    changed = AC.any_deps_updated().since_last_handled() | arrived
    return (changed & _inputs_exist() & _settled()).with_label("follows_each_partition")


def follows_each_batch() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    # only after an update happened, not on the tick it is requested: this asset reads every
    # partition upstream, so it waits for the batch's runs instead of racing them; and only once
    # every table it reads exists
    updated = AC.any_deps_match(AC.newly_updated()).since_last_handled()
    return (updated & _inputs_exist() & _settled()).with_label("follows_each_batch")
