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
  finished, not once per partition or per run: it waits while any upstream run is in progress,
  and a change lands in a refresh requested after it (a run already under way does not count).

Either shape also tries again, at each tick of `PLATFORM_RETRY_FAILED_CRON` (hourly), what its
latest run failed to build (`_or_failed_retried`).
"""

from typing import cast

import dagster as dg

from data_platform import settings

AC = dg.AutomationCondition


def _settled() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    """No run upstream is still building what this asset reads, this asset is neither in a run
    nor in a backfill, and no blocking check upstream stands failed.

    Upstream means parents and grandparents: gold waits while bronze is still loading a range, so
    a first load's silver tables finish before gold is built once over all of them. Upstream
    runs are what is waited for, not upstream backfills: a backfill is marked complete only on
    the backfill daemon's next pass (every 30 s) after its last run, and this asset fires only on
    upstream updates, which are done once the runs are.

    A partition whose own run ended since the previous tick waits one tick more. The daemon
    reads whether a run is under way afresh, but what runs materialized only up to the event it
    read at the tick's start: on the tick a run ends (or, in a range run, writes this asset's
    partitions), the partition is neither in progress nor built yet, and the change that
    started the run would request it again (seen: a day's gold built twice, its checks and
    alerts with it; a history's silver range rebuilt after the landing sensor's run).

    A blocking check that has not run yet does not hold a partition back: a parent requested on
    the same tick runs in the same run, and the run itself stops before the child if it fails.
    A daily silver table's blocking checks are partitioned: a one-day run records them on its
    day, and a failed day holds back only what depends on that day. A range run has no single
    partition to record them on (Dagster records them once for the run): they hold nothing, and
    what they judged was not published (write, audit, publish), so what is built after reads the
    last good version.
    """
    running = AC.run_in_progress()
    busy = AC.any_deps_match(running) | AC.any_deps_match(AC.any_deps_match(running))
    failed = AC.any_deps_match(AC.any_checks_match(AC.check_failed(), blocking_only=True))
    idle = ~AC.in_progress()
    return (
        ~busy.with_label("upstream_in_progress")
        & idle
        & ~idle.newly_true().with_label("own_run_just_ended")
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


def _or_failed_retried(
    condition: "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]",
) -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    """`condition`, or: the partition's latest run failed, and the retry cron ticked.

    Steps retry transient errors themselves, for about a minute (`automation/retries.py`), and
    a gold build waits for a held warehouse; a cause that outlasts them (an outage of an hour, a
    BI client holding the warehouse file all afternoon) fails the run, and nothing upstream
    changes to request it again. Tried again every hour, it heals once the cause is gone,
    without a human. A run a blocking check of the asset stopped (a verdict on the data) is not
    tried again: a new upstream change, the fix, requests it."""
    cron = settings.read(settings.RETRY_FAILED_CRON)
    if cron == "off":
        return condition
    # not what a blocking check of its own stopped: that is a verdict on the data, which the
    # same data would repeat
    judged = AC.any_checks_match(AC.check_failed(), blocking_only=True)
    retried = (AC.execution_failed() & ~judged & AC.cron_tick_passed(cron)).with_label(
        "failed_retried"
    )
    return cast("dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]", condition | retried)


def follows_each_partition() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    # a partition whose inputs arrived while its own run was under way, and which then failed, is
    # not tried again for that: only a new upstream change does
    arrived = _inputs_arrived().since_last_handled() & ~AC.execution_failed()
    changed = _or_failed_retried(AC.any_deps_updated().since_last_handled() | arrived)
    return (changed & _inputs_exist() & _settled()).with_label("follows_each_partition")


def follows_each_batch() -> "dg.AutomationCondition[dg.AssetKey | dg.AssetCheckKey]":
    # only after an update happened, not on the tick it is requested: this asset reads every
    # partition upstream, so it waits for the batch's runs instead of racing them; and only once
    # every table it reads exists
    #
    # an update is handled once this asset is requested after it, not when it is next
    # materialized: a run of it already under way when a table it reads changes (a report
    # requested just before the landing sensor's next range run) read the old table, and its
    # end must not swallow the change
    #
    # and not what a run that also builds this asset updated: the landing sensor's run of one
    # tick builds the reports after the tables it loads
    requested = (AC.newly_requested() | AC.initial_evaluation()).with_label("requested")
    by_others = (AC.newly_updated() & ~AC.executed_with_root_target()).with_label(
        "updated_by_another_run"
    )
    changed = AC.any_deps_match(by_others).since(requested)
    updated = _or_failed_retried(changed)
    return (updated & _inputs_exist() & _settled()).with_label("follows_each_batch")
