"""Slack alerts for stale data, failed checks, failed runs and failing sensors, each exactly once.

Every tick finds what is new in the instance (`alerts.sources`), records it in the outbox with the
advanced marks, then delivers what waits there (`alerts.outbox`). The stock run-failure sensor
would drop an alert when Slack errors; here it stays in the outbox until Slack takes it.
"""

import dagster as dg

from data_platform.alerts import sources
from data_platform.alerts.alert import Alert
from data_platform.alerts.outbox import Outbox
from data_platform.resources.slack import SlackAlerts


def find(
    instance: dg.DagsterInstance,
    repository: dg.RepositoryDefinition,
    marks: sources.Marks,
    alert_on_warn: bool,
) -> list[Alert]:
    severities = [dg.AssetCheckSeverity.ERROR]
    if alert_on_warn:
        severities.append(dg.AssetCheckSeverity.WARN)
    return [
        *sources.freshness_changes(instance, repository, marks),
        *sources.check_failures(instance, repository, marks, severities),
        *sources.run_failures(instance, marks),
        *sources.sensor_failures(instance, marks),
    ]


def build_alert_sensor(interval_seconds: int = 15) -> dg.SensorDefinition:
    @dg.sensor(
        name="slack_alerts",
        description="Sends stale-data, failed-check, failed-run and failing-sensor alerts to "
        "Slack, each exactly once; off until SLACK_BOT_TOKEN and SLACK_CHANNEL are set.",
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def slack_alerts(context: dg.SensorEvaluationContext, slack: SlackAlerts) -> dg.SkipReason:
        if not slack.enabled:
            return dg.SkipReason("alerting is off: set SLACK_BOT_TOKEN and SLACK_CHANNEL")
        instance, repository = context.instance, context.repository_def
        assert repository is not None, "evaluated with its code location"
        outbox = Outbox.load(instance)
        if outbox is None:
            # switched on now: alert on what happens from here, not on the instance's history
            outbox = Outbox(
                marks=sources.Marks.present(instance, repository), pending=[], delivered=[]
            )
            outbox.save(instance)
            return dg.SkipReason("alerting switched on; watching from now")
        found = outbox.add(find(instance, repository, outbox.marks, slack.alert_on_warn))
        outbox.save(instance)
        for alert in found:
            context.log.info(f"alert {alert.id}: {alert.kind} {alert.subject}")
        sent, error = outbox.deliver(instance, slack)
        summary = f"{len(found)} new alerts, {sent} delivered, {len(outbox.pending)} waiting"
        if error:
            context.log.warning(f"Slack did not take an alert, will retry: {error}")
            summary += f"; Slack: {error}"
        return dg.SkipReason(summary)

    return slack_alerts
